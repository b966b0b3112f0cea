import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import {
  type RunningDaemon,
  shape,
  startDaemon,
  tempDir,
  UNLIMITED_CHAT,
  waitFor,
} from "../helpers/daemon.ts";
import { SmallDisk, smallDiskUnavailable } from "../helpers/small-disk.ts";

const noSmallDisk = smallDiskUnavailable();
if (noSmallDisk) console.warn(`full disk: skipped: ${noSmallDisk}`);
const fullDiskTest = noSmallDisk ? test.skip : test;

const ARGS = [...shape(1, 1), ...UNLIMITED_CHAT];
const WRITE_FAILED = /cannot write the history file/g;
const WRITTEN_AGAIN = /the history file is written again/g;

function count(file: string, pattern: RegExp): number {
  return fs.existsSync(file) ? (fs.readFileSync(file, "utf8").match(pattern) ?? []).length : 0;
}

/** The texts of alice's lines in history.jsonl, in file order. */
function onDisk(stateDir: string): string[] {
  const file = path.join(stateDir, "history.jsonl");
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { n: string; x: string })
    .filter((r) => r.n === "alice")
    .map((r) => r.x);
}

const FULL_LINES = Array.from({ length: 100 }, (_, i) => `full ${i}`);

async function stop(daemon: RunningDaemon): Promise<void> {
  if (daemon.proc.exitCode !== null || daemon.proc.signalCode !== null) return;
  daemon.proc.kill("SIGTERM");
  await daemon.exited;
}

fullDiskTest(
  "full disk - 100 lines said while the state directory is full reach it once there is room and survive a restart; a registration that cannot be written is refused",
  async (t) => {
    const dir = tempDir();
    const disk = SmallDisk.mount(path.join(dir, "state"), 256 * 1024);
    const started: RunningDaemon[] = [];
    // Registered first: the tmpfs is unmounted even if a daemon never starts.
    t.teardown(async () => {
      for (const d of started) await stop(d);
      disk.unmount();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    let daemon = await startDaemon(ARGS, { dir });
    started.push(daemon);
    const log = path.join(daemon.logDir, "tsd.log");
    const alice = await ChatClient.connect(daemon.chatPort);
    await alice.register("alice", "secret1");
    const bob = await ChatClient.connect(daemon.chatPort);
    await bob.register("bob", "secret1");

    t.true(disk.fill() > 0);
    for (const line of FULL_LINES) alice.send(line);
    for (const line of FULL_LINES) await bob.line(`<alice> ${line}`);
    await waitFor(() => count(log, WRITE_FAILED) > 0, 15_000, "the write failure in the log");
    const whileFull = onDisk(daemon.stateDir).length;
    t.true(whileFull < 100, `the disk was full: ${whileFull} of 100 lines fitted`);

    // A registration that cannot be written: refused, never confirmed, and the dialogue goes on.
    const carol = await ChatClient.connect(daemon.chatPort);
    await carol.typeRegistration("carol", "secret1");
    await carol.line(/^! your account could not be saved/);
    await carol.loginPrompt();
    t.false(carol.all.includes("* registered"), "never confirmed");
    t.false(carol.closed);

    disk.free();
    const freedAt = Date.now();
    // Nobody says anything more: the store's own retry (at most 5 s apart) writes what it held.
    await waitFor(() => onDisk(daemon.stateDir).length >= 100, 15_000, "the 100 lines on disk");
    const writtenMs = Date.now() - freedAt;
    t.deepEqual(onDisk(daemon.stateDir), FULL_LINES, "each line once, in order");
    await waitFor(() => count(log, WRITTEN_AGAIN) > 0, 15_000, "the recovery in the log");
    t.is(count(log, WRITE_FAILED), 1, "the failure is logged once");
    t.is(count(log, WRITTEN_AGAIN), 1, "the recovery is logged once");
    t.log(
      `BOUND full disk: lines written late after the disk had room = ${100 - whileFull} of 100, dropped 0`,
    );
    t.log(`BOUND full disk: held lines on disk after room came back, nothing new said = ${writtenMs} ms`);

    // With room again, the same connection registers.
    carol.send("carol");
    await carol.prompt("new password: ");
    carol.send("secret1");
    await carol.prompt("repeat password: ");
    carol.send("secret1");
    await carol.line("* registered carol");
    await carol.line(/^\* \d+ online: /);

    await stop(daemon);
    daemon = await startDaemon(ARGS, { dir });
    started.push(daemon);
    const back = await ChatClient.connect(daemon.chatPort);
    await back.signIn("alice", "secret1");
    back.send("/history 100");
    const replay: string[] = [];
    for (let i = 0; i < 100; i++)
      replay.push((await back.line(/^\[[^\]]+\] <alice> /)).replace(/^\[[^\]]+\] <alice> /, ""));
    await back.line("* end of history");
    t.deepEqual(replay, FULL_LINES, "all 100 after a restart");
  },
);
