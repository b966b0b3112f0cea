import fs from "node:fs";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import {
  type RunningDaemon,
  shape,
  spawnDaemon,
  startDaemon,
  tempDir,
  UNLIMITED_CHAT,
  waitFor,
} from "../helpers/daemon.ts";
import { callRpc } from "../helpers/rpc.ts";

const ARGS = [...shape(1, 1), ...UNLIMITED_CHAT];
const LEFTOVER_TEMP = /^identities\.json\.\d+\.[0-9a-f]{12}\.tmp$/;
const LOCK_DIR = "identities.json.lock";

/**
 * Starts a second daemon on stateDir with a socket, log and ports of its own; resolves with how
 * it ended: its exit (code and stderr), or "ready" if it started.
 */
async function secondDaemon(
  t: ExecutionContext,
  stateDir: string,
): Promise<{ code: number | null; stderr: string } | "ready"> {
  const other = spawnDaemon([...ARGS, "--state-dir", stateDir], { dir: tempDir() });
  t.teardown(() => other.cleanup());
  const outcome = await other.started;
  return outcome.ready ? "ready" : { code: outcome.code, stderr: other.stderr() };
}

async function primaryPid(daemon: RunningDaemon): Promise<number> {
  return ((await callRpc(daemon.socket, "status")).result as { pid: number }).pid;
}

function historyTexts(stateDir: string): string[] {
  return fs
    .readFileSync(path.join(stateDir, "history.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { x: string }).x);
}

test("state dir - a second daemon on the same state directory exits 1 naming it and the holder's pid; the first keeps every line", async (t) => {
  const first = await startDaemon(ARGS);
  t.teardown(() => first.cleanup());
  const alice = await ChatClient.connect(first.chatPort);
  await alice.register("alice", "secret1");
  const bob = await ChatClient.connect(first.chatPort);
  await bob.register("bob", "secret1");
  const lines = Array.from({ length: 400 }, (_, i) => `kept ${i}`);
  for (const line of lines.slice(0, 200)) alice.send(line);

  const second = await secondDaemon(t, first.stateDir);
  t.not(second, "ready", "the second daemon must not start");
  if (second === "ready") return;
  t.is(second.code, 1);
  t.is(
    second.stderr.trim(),
    `tsd-daemon: the state directory ${first.stateDir} is in use by another tsd-daemon (pid ${await primaryPid(first)}); stop it or pick another --state-dir`,
  );

  for (const line of lines.slice(200)) alice.send(line);
  for (const line of lines) await bob.line(`<alice> ${line}`);
  await waitFor(() => historyTexts(first.stateDir).length >= 400, 15_000, "400 lines in history.jsonl");
  t.deepEqual(historyTexts(first.stateDir), lines);
});

test("state dir - after kill -9 of the primary the next daemon takes the directory at once, and then holds it", async (t) => {
  const first = await startDaemon(ARGS);
  t.teardown(() => first.cleanup());
  const alice = await ChatClient.connect(first.chatPort);
  await alice.register("alice", "secret1");
  alice.send("before the kill");
  await waitFor(() => historyTexts(first.stateDir).length > 0, 15_000, "the line on disk");
  process.kill(await primaryPid(first), "SIGKILL");
  await first.exited;

  const started = Date.now();
  const next = await startDaemon(ARGS, { dir: first.dir });
  t.teardown(() => next.cleanup());
  t.log(
    `BOUND state dir: a daemon ready on the directory of a kill -9'd one in = ${Date.now() - started} ms`,
  );
  const back = await ChatClient.connect(next.chatPort);
  await back.signIn("alice", "secret1");
  back.send("/history 5");
  await back.line(/^\[[^\]]+\] <alice> before the kill$/);

  const third = await secondDaemon(t, next.stateDir);
  t.not(third, "ready", "the taken-over directory is held");
  if (third === "ready") return;
  t.is(third.code, 1);
  t.regex(third.stderr, new RegExp(`in use by another tsd-daemon \\(pid ${await primaryPid(next)}\\)`));
});

/**
 * Kills the primary with SIGKILL the moment identities.json's temp copy appears during
 * `identities wipe` (a big file, so the write is still going on). Resolves with the leftovers.
 */
async function killDuringWipe(daemon: RunningDaemon): Promise<string[]> {
  const pid = await primaryPid(daemon);
  const watcher = fs.watch(daemon.stateDir, (_event, name) => {
    if (name && LEFTOVER_TEMP.test(name)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  });
  try {
    const wipe = daemon.tsctl(["identities", "wipe", "--yes"]);
    await Promise.race([daemon.exited, wipe]);
    // The wipe finished before the kill could land: stop here, the caller tries again.
    if (daemon.proc.exitCode === null && daemon.proc.signalCode === null) process.kill(pid, "SIGKILL");
    await daemon.exited;
    await wipe;
  } finally {
    watcher.close();
  }
  return fs.readdirSync(daemon.stateDir).filter((name) => name === LOCK_DIR || LEFTOVER_TEMP.test(name));
}

test("state dir - kill -9 during identities wipe: the temp copy and the lock directory are removed at the next start, and not by a daemon that was refused", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  let leftovers: string[] = [];
  let name = "";
  // Bounded: the kill must land between the temp file's creation and its rename.
  for (let attempt = 1; attempt <= 3 && leftovers.length < 2; attempt++) {
    const daemon = await startDaemon(ARGS, { dir });
    t.teardown(() => daemon.cleanup());
    const alice = await ChatClient.connect(daemon.chatPort);
    const file = path.join(daemon.stateDir, "identities.json");
    name = `alice${attempt}`;
    await alice.register(name, "secret1");
    alice.close();
    // Make the file big (unknown top-level fields are kept on rewrite), so its write takes a while.
    const data = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    data.padding = "x".repeat(48 << 20);
    fs.writeFileSync(`${file}.padded`, JSON.stringify(data), { mode: 0o600 });
    fs.renameSync(`${file}.padded`, file);
    leftovers = await killDuringWipe(daemon);
    t.log(`attempt ${attempt}: left behind ${leftovers.join(", ") || "nothing"}`);
  }
  t.true(
    leftovers.includes(LOCK_DIR) && leftovers.some((n) => LEFTOVER_TEMP.test(n)),
    "the kill left both behind",
  );
  const stateDir = path.join(dir, "state");
  const temp = leftovers.find((n) => LEFTOVER_TEMP.test(n))!;
  const tempCopy = fs.readFileSync(path.join(stateDir, temp));

  const next = await startDaemon(ARGS, { dir });
  t.teardown(() => next.cleanup());
  const remaining = fs.readdirSync(stateDir).filter((n) => n === LOCK_DIR || LEFTOVER_TEMP.test(n));
  t.deepEqual(remaining, [], "removed at start");
  t.regex(
    fs.readFileSync(path.join(next.logDir, "tsd.log"), "utf8"),
    /removed what an interrupted identity write left behind/,
  );
  // The wipe never happened: the last account made is still there, and the store writes again.
  const back = await ChatClient.connect(next.chatPort);
  await back.signIn(name, "secret1");
  // The sign-in is recorded in the file a second later: let that write finish first.
  const file = path.join(stateDir, "identities.json");
  await waitFor(
    () =>
      (JSON.parse(fs.readFileSync(file, "utf8")) as { users: Record<string, { lastLoginAt: string | null }> })
        .users[name]?.lastLoginAt,
    15_000,
    "the sign-in recorded",
  );
  const wiped = await next.tsctl(["identities", "wipe", "--yes"]);
  t.is(wiped.code, 0, wiped.stderr);

  // The same leftovers while a daemon holds the directory (as if it were writing): a refused
  // second daemon must not touch them.
  fs.writeFileSync(path.join(stateDir, temp), tempCopy, { mode: 0o600 });
  fs.mkdirSync(path.join(stateDir, LOCK_DIR));
  const second = await secondDaemon(t, stateDir);
  t.not(second, "ready");
  t.true(
    fs.existsSync(path.join(stateDir, temp)) && fs.existsSync(path.join(stateDir, LOCK_DIR)),
    "left alone",
  );
  fs.rmSync(path.join(stateDir, temp));
  fs.rmdirSync(path.join(stateDir, LOCK_DIR));
});
