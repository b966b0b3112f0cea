import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { shape, spawnDaemon, tempDir, UNLIMITED_CHAT, waitFor } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

/** Lines a new user gets after `* registered ...`, up to and including the online line. */
async function signInLines(d: Awaited<ReturnType<typeof useDaemon>>, name: string): Promise<string[]> {
  const c = await d.client();
  await c.register(name, "secret1");
  const all = c.all.split("\r\n");
  return all.slice(all.findIndex((line) => line.includes("* registered ")) + 1, -1);
}

test("motd - shown after the replay and before * N online, sanitised, at most 20 lines; reread on SIGHUP", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const motd = path.join(dir, "motd.txt");
  const lines = [
    "",
    "Welcome to the \x1b[2J\x1b[31mtest\x1b[0m server\u202e!",
    "",
    "be kind\x07",
    ...Array.from({ length: 30 }, (_, i) => `rule ${i + 1}`),
  ];
  fs.writeFileSync(motd, `${lines.join("\n")}\n`);
  const d = await useDaemon(t, [...shape(1, 2), ...UNLIMITED_CHAT, "--motd", motd]);

  const first = await d.user("first");
  first.send("hello from history");
  first.send("/history 1");
  await first.line("* end of history");

  const seen = await signInLines(d, "second");
  t.regex(seen[0]!, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] <first> hello from history$/, "the replay first");
  t.deepEqual(
    seen.slice(1),
    [
      "* Welcome to the test server!",
      "* ",
      "* be kind",
      ...Array.from({ length: 17 }, (_, i) => `* rule ${i + 1}`),
      "* 2 online: first, second",
    ],
    "20 lines of the message, escapes and bidi overrides gone, then the online line",
  );

  fs.writeFileSync(motd, "new rules today\n");
  d.daemon.proc.kill("SIGHUP");
  const log = path.join(d.daemon.logDir, "tsd.log");
  await waitFor(
    () => fs.existsSync(log) && fs.readFileSync(log, "utf8").includes("message of the day reread"),
    15_000,
    "the reread in the log",
  );
  t.deepEqual((await signInLines(d, "third")).slice(-2), [
    "* new rules today",
    "* 3 online: first, second, third",
  ]);

  fs.rmSync(motd);
  d.daemon.proc.kill("SIGHUP");
  await waitFor(
    () => fs.readFileSync(log, "utf8").includes("the message of the day is unchanged"),
    15_000,
    "the failed reread in the log",
  );
  t.deepEqual(
    (await signInLines(d, "fourth")).slice(-2),
    ["* new rules today", "* 4 online: first, fourth, second, third"],
    "a file gone after the start keeps the message it had",
  );
});

test("motd - a missing file at start: exit 1 with one sentence naming it", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const missing = path.join(dir, "no-such-motd.txt");
  const daemon = spawnDaemon(["--motd", missing], { dir });
  const outcome = await daemon.started;
  t.false(outcome.ready);
  t.is((await daemon.exited).code, 1);
  t.regex(
    daemon.stderr(),
    new RegExp(`^tsd-daemon: cannot read the message of the day ${missing} \\(ENOENT\\)\\n$`),
  );
});

test("motd - a file that cannot be read (a directory) at start: exit 1 naming it", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const daemon = spawnDaemon(["--motd", dir], { dir });
  t.false((await daemon.started).ready);
  t.is((await daemon.exited).code, 1);
  t.regex(
    daemon.stderr(),
    new RegExp(`^tsd-daemon: cannot read the message of the day ${dir} \\(not a regular file\\)\\n$`),
  );
});

test("motd - none without --motd: the replay is followed by the online line", async (t) => {
  const d = await useDaemon(t, [...shape(1, 1), ...UNLIMITED_CHAT]);
  t.deepEqual(await signInLines(d, "solo"), ["* 1 online: solo"]);
});
