/**
 * The tsctl shell outlives the daemon's connection: when the daemon restarts between two
 * commands, the next one connects afresh and is answered; when it has gone, the next one says
 * it is not running. Neither waits for --timeout on a connection the daemon already closed.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import test from "ava";
import { ROOT, shape, startDaemon, tempDir, waitFor } from "../helpers/daemon.ts";

test("tsctl shell - a daemon restarted between two commands: the next one is answered by the new daemon, at once", async (t) => {
  const socket = path.join(tempDir(), "control.sock");
  const first = await startDaemon(shape(1, 1), { socket });
  t.teardown(() => first.cleanup());
  const shell = spawn(
    process.execPath,
    [path.join(ROOT, "bin", "tsctl.js"), "--socket", socket, "--timeout", "60s"],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  t.teardown(() => shell.kill("SIGKILL"));
  let out = "";
  let err = "";
  shell.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  shell.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => shell.once("exit", resolve));

  shell.stdin.write("status\n");
  await waitFor(() => out.includes("listeners:"), 30_000, "the first daemon's status");
  await first.cleanup();
  const second = await startDaemon(shape(1, 1), { socket });
  t.teardown(() => second.cleanup());

  shell.stdin.write("who\n");
  // Before, the shell wrote to the connection the first daemon had closed and waited the whole --timeout (60 s).
  await waitFor(() => out.includes("nobody online") || err.includes("timed out"), 90_000, "who's answer");
  t.true(out.includes("nobody online"), err);
  t.false(err.includes("timed out"), err);

  await second.cleanup();
  shell.stdin.end("status\n");
  t.is(await exited, 3, `the daemon has gone: not running; stderr: ${err}`);
  t.regex(err, /tsd is not running: nothing answers at /);
  t.false(err.includes("timed out"), err);
});
