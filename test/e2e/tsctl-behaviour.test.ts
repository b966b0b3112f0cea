/**
 * tsctl as control.md says it behaves, against real daemons: --timeout bounds the whole command
 * (a SIGSTOPped daemon), a short timeout is "timed out" and not "not running", stop waits for
 * the exit (--no-wait does not), --json errors are one JSON object on stderr, a reader that
 * goes away ends `logs -f` quietly, and the shell from a pipe answers with the first failure.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import test from "ava";
import { alive, ROOT, shape, startDaemon, waitFor } from "../helpers/daemon.ts";

const TSCTL = path.join(ROOT, "bin", "tsctl.js");

test("tsctl behaviour - --timeout ends the command against a SIGSTOPped daemon: timed out, exit 1; it answers again after SIGCONT", async (t) => {
  const daemon = await startDaemon(shape(1, 1));
  t.teardown(() => {
    daemon.proc.kill("SIGCONT");
    return daemon.cleanup();
  });
  daemon.proc.kill("SIGSTOP");
  t.teardown(() => daemon.proc.kill("SIGCONT"));
  const started = Date.now();
  const stuck = await daemon.tsctl(["status", "--timeout", "1s"]);
  const tookMs = Date.now() - started;
  t.is(stuck.code, 1, stuck.stderr);
  t.regex(stuck.stderr, /^tsctl: timed out after 1s/);
  t.notRegex(stuck.stderr, /may still be carried out/, "status only reads");
  t.true(stuck.stderr.includes(daemon.socket), "the message names the socket");
  t.true(tookMs < 20_000, `tsctl ended on its own (${tookMs} ms), not when the daemon came back`);
  const json = await daemon.tsctl(["pause", "--timeout", "1s", "--json"]);
  t.is(json.code, 1);
  const error = JSON.parse(json.stderr) as { error: { message: string; code: null; exitCode: number } };
  t.regex(error.error.message, /^timed out/);
  t.regex(
    error.error.message,
    /pause was sent and may still be carried out/,
    "it says what may still happen",
  );
  t.is(error.error.exitCode, 1);
  daemon.proc.kill("SIGCONT");
  const back = await daemon.tsctl(["status", "--json"]);
  t.is(back.code, 0, back.stderr);
});

test("tsctl behaviour - a timeout too short for a live daemon says timed out (exit 1), not not running (exit 3)", async (t) => {
  const daemon = await startDaemon(shape(1, 1));
  t.teardown(() => daemon.cleanup());
  // 1 ms is shorter than a call takes, but a fast machine may answer in it: try a few times.
  const failures = [];
  for (let i = 0; i < 10 && failures.length === 0; i++) {
    const result = await daemon.tsctl(["status", "--timeout", "1ms"]);
    if (result.code !== 0) failures.push(result);
  }
  t.true(failures.length > 0, "1 ms ran out at least once");
  for (const result of failures) {
    t.is(result.code, 1, result.stderr);
    t.regex(result.stderr, /timed out/);
    t.notRegex(result.stderr, /not running/);
  }
});

test("tsctl behaviour - stop returns once the daemon has exited; --no-wait returns at once", async (t) => {
  const waited = await startDaemon(shape(1, 1));
  t.teardown(() => waited.cleanup());
  const pid = waited.proc.pid!;
  const stopped = await waited.tsctl(["stop", "--grace", "0s"]);
  t.is(stopped.code, 0, stopped.stderr);
  t.regex(stopped.stdout, /^stopping \(clients get 0s\)\nstopped \(pid \d+ has exited\)\n$/);
  t.false(alive(pid), "the daemon is gone when tsctl stop returns");
  t.is((await waited.exited).code, 0);

  const quick = await startDaemon(shape(1, 1));
  t.teardown(() => quick.cleanup());
  const noWait = await quick.tsctl(["stop", "--no-wait", "--json"]);
  t.is(noWait.code, 0, noWait.stderr);
  t.deepEqual(JSON.parse(noWait.stdout), { stopping: true });
  t.is((await quick.exited).code, 0);
});

test("tsctl behaviour - --json errors: the daemon's, bad usage and not running, each one JSON object on stderr", async (t) => {
  const daemon = await startDaemon(shape(1, 1));
  t.teardown(() => daemon.cleanup());
  const cases: [string[], number, number | null][] = [
    [["kick", "nobody", "--json"], 1, -32001],
    [["kick", "--json"], 2, null],
    [["--json", "--socket", path.join(daemon.dir, "none.sock"), "status"], 3, null],
  ];
  for (const [argv, exitCode, code] of cases) {
    const result = await daemon.tsctl(argv);
    t.is(result.code, exitCode, argv.join(" "));
    t.is(result.stdout, "");
    const lines = result.stderr.trimEnd().split("\n");
    t.is(lines.length, 1, result.stderr);
    const { error } = JSON.parse(lines[0]!) as { error: Record<string, unknown> };
    t.deepEqual(Object.keys(error).sort(), ["code", "exitCode", "message"]);
    t.is(error.exitCode, exitCode);
    t.is(error.code, code);
    t.true(typeof error.message === "string" && error.message.length > 0);
  }
});

test("tsctl behaviour - logs -f whose reader went away ends at its next line: exit 0, nothing on stderr", async (t) => {
  const daemon = await startDaemon(shape(1, 1));
  t.teardown(() => daemon.cleanup());
  const child = spawn(process.execPath, [TSCTL, "--socket", daemon.socket, "logs", "-f", "-n", "1"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.teardown(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  // As `| head -1`: read the first line, then close the pipe.
  await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
  child.stdout.destroy();
  // Lines keep coming until tsctl writes one into the closed pipe.
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  await waitFor(
    async () => {
      if (!ended) await daemon.tsctl(["announce", "a line for the log"]);
      return ended;
    },
    20_000,
    "tsctl to end",
  );
  t.is(await exited, 0);
  t.is(stderr, "");
});

test("tsctl behaviour - the shell from a pipe answers with the exit code of the first command that failed", async (t) => {
  const daemon = await startDaemon(shape(1, 1));
  t.teardown(() => daemon.cleanup());
  const allWell = await daemon.tsctl([], { input: "status\nwho\n" });
  t.is(allWell.code, 0, allWell.stderr);
  const failed = await daemon.tsctl([], { input: "status\nkick nobody\nbogus\nwho\n" });
  t.is(failed.code, 1, "kick of nobody (1) came before the bad usage (2)");
  t.regex(failed.stdout, /nobody online/, "the commands after a failure still ran");
  const usage = await daemon.tsctl([], { input: "stauts\nkick nobody\n" });
  t.is(usage.code, 2);
  t.regex(usage.stderr, /did you mean `status`\?/);
});

test("tsctl behaviour - bad global options for the shell are bad usage before it starts", async (t) => {
  const daemon = await startDaemon(shape(1, 1));
  t.teardown(() => daemon.cleanup());
  const result = await daemon.tsctl(["--bogus"], { input: "pause\n" });
  t.is(result.code, 2);
  t.regex(result.stderr, /unknown option --bogus/);
  t.false((JSON.parse((await daemon.tsctl(["status", "--json"])).stdout) as { paused: boolean }).paused);
});
