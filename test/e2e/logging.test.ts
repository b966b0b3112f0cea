import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { shape, startDaemon, tempDir, waitFor } from "../helpers/daemon.ts";
import { callRpc } from "../helpers/rpc.ts";

test("logging - records from every thread reach tsd.log with their worker and thread", async (t) => {
  const daemon = await startDaemon([...shape(2, 2), "--max-per-address", "0"]);
  t.teardown(() => daemon.cleanup());
  const clients = await Promise.all(Array.from({ length: 24 }, () => ChatClient.connect(daemon.chatPort)));
  for (const c of clients) await c.loginPrompt();
  for (const c of clients) c.close();
  const file = path.join(daemon.logDir, "tsd.log");
  const sources = await waitFor(
    () => {
      const found = new Set(
        [...fs.readFileSync(file, "utf8").matchAll(/ (w\d+\.t\d+) connect conn=w\d+t\d+-\d+ address=/g)].map(
          (m) => m[1],
        ),
      );
      return found.size > 1 ? found : null;
    },
    15_000,
    "connect records from more than one thread",
  );
  t.true(sources.size > 1, [...sources].join(","));
  await waitFor(
    () =>
      /disconnect conn=w\d+t\d+-\d+ address=127\.0\.0\.1 port=\d+ reason=/.test(
        fs.readFileSync(file, "utf8"),
      ),
    15_000,
    "disconnects",
  );
  // The same records on stdout for the journal (read from a pipe: it may come a moment later).
  await waitFor(
    () => / w\d+\.t\d+ connect conn=w\d+t\d+-\d+ address=127\.0\.0\.1 port=\d+/.test(daemon.stdout()),
    15_000,
    "the connect records on stdout",
  );
});

test("logging - --log-format json writes one JSON object per line", async (t) => {
  const daemon = await startDaemon(["--workers", "1", "--log-format", "json"]);
  t.teardown(() => daemon.cleanup());
  const c = await ChatClient.connect(daemon.chatPort);
  await c.loginPrompt();
  c.close();
  const file = path.join(daemon.logDir, "tsd.log");
  await waitFor(() => /"message":"disconnect"/.test(fs.readFileSync(file, "utf8")), 15_000, "the disconnect");
  const lines = fs.readFileSync(file, "utf8").trim().split("\n");
  const records = lines.map(
    (l) => JSON.parse(l) as { level: string; message: string; timestamp: string; source?: string },
  );
  t.true(
    records.every(
      (r) => typeof r.level === "string" && typeof r.message === "string" && typeof r.timestamp === "string",
    ),
  );
  t.true(records.some((r) => r.message === "connect" && /^w1\.t\d+$/.test(r.source ?? "")));
});

test("logging - --log-max-bytes rotates tsd.log; SIGHUP reopens a moved file", async (t) => {
  const daemon = await startDaemon(["--workers", "1", "--log-max-bytes", "4096", "--log-keep", "2"]);
  t.teardown(() => daemon.cleanup());
  const file = path.join(daemon.logDir, "tsd.log");
  const socket = daemon.socket;
  for (let i = 0; i < 40; i++)
    await callRpc(socket, "chat.announce", { text: `filler ${i} ${"x".repeat(100)}` });
  const logged = (f: string) => fs.existsSync(f) && fs.readFileSync(f, "utf8").includes("filler 39 ");
  await waitFor(() => logged(file) || logged(`${file}.1`), 15_000, "the last announcement in the log");
  t.true(fs.existsSync(`${file}.1`), "rotated once at least");
  t.false(fs.existsSync(`${file}.3`), "no more than --log-keep files");
  t.true(fs.statSync(file).size <= 4096 + 512);

  fs.renameSync(file, `${file}.moved`);
  daemon.proc.kill("SIGHUP");
  await waitFor(() => fs.existsSync(file), 15_000, "a new tsd.log after SIGHUP");
  await daemon.tsctl(["announce", "after-reopen"]);
  await waitFor(
    () => fs.readFileSync(file, "utf8").includes("after-reopen"),
    15_000,
    "new records in the new file",
  );
  t.false(fs.readFileSync(`${file}.moved`, "utf8").includes("after-reopen"));
});

test("logging - an unwritable log directory: the daemon serves, logs to stdout and says so once", async (t) => {
  const dir = tempDir();
  const blocker = path.join(dir, "not-a-directory");
  fs.writeFileSync(blocker, "");
  const daemon = await startDaemon(["--workers", "1", "--log-dir", path.join(blocker, "logs")], { dir });
  t.teardown(() => daemon.cleanup());
  const c = await ChatClient.connect(daemon.chatPort);
  await c.register("solo", "secret1");
  c.close();
  await waitFor(() => /disconnect/.test(daemon.stdout()), 15_000, "records on stdout");
  t.is(
    daemon
      .stdout()
      .split("\n")
      .filter((l) => l.includes("cannot write the log file")).length,
    1,
  );
});

test("logging - a state directory that cannot be written is refused at start with a clear message", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const blocker = path.join(dir, "file");
  fs.writeFileSync(blocker, "");
  const error = await startDaemon(["--workers", "1", "--state-dir", path.join(blocker, "state")], {
    dir,
  }).then(
    () => null,
    (e: Error) => e,
  );
  t.truthy(error);
  t.regex(error!.message, /exited with 1/);
  t.regex(error!.message, /the state directory .* is not writable/);
});

/** Every character of text that would act on a terminal reading the log: C0 but LF, DEL, C1, separators, bidi controls. */
function rawControls(text: string): string[] {
  return [...text.matchAll(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g)].map(
    (m) => `U+${m[0].charCodeAt(0).toString(16).padStart(4, "0")} at ${m.index}`,
  );
}

const HOSTILE_ANNOUNCE = "\x1b]0;pwned\x07\x1b[2Jhi";
const HOSTILE_REASON = "bye\x1b[2J\r\n2026-01-01T00:00:00.000Z info  main forged\x07\x7f\u0085\u202e";

for (const format of ["text", "json"] as const) {
  test(`logging - control characters from announce and kick never reach tsd.log or stdout raw (${format})`, async (t) => {
    const daemon = await startDaemon([...shape(1, 1), "--no-echo", "--log-format", format]);
    t.teardown(() => daemon.cleanup());
    const victim = await ChatClient.connect(daemon.chatPort);
    await victim.register("mallory", "secret1");
    t.is((await daemon.tsctl(["announce", HOSTILE_ANNOUNCE])).code, 0);
    t.is((await daemon.tsctl(["kick", "mallory", HOSTILE_REASON])).code, 0);
    await victim.closedByServer();
    const file = path.join(daemon.logDir, "tsd.log");
    await waitFor(() => /kicked/.test(fs.readFileSync(file, "utf8")), 15_000, "the kick in tsd.log");
    await waitFor(() => /kicked/.test(daemon.stdout()), 15_000, "the kick on stdout");

    const logged = fs.readFileSync(file).toString("utf8");
    t.deepEqual(rawControls(logged), [], "tsd.log");
    t.deepEqual(rawControls(daemon.stdout()), [], "stdout");
    t.true(logged.endsWith("\n"));
    t.false(logged.includes("forged\n"), "the reason's line end did not start a record of its own");
    if (format === "json") {
      // Escaped the JSON way: each record still decodes to exactly what was sent.
      const records = logged
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { message: string; text?: string; reason?: string });
      t.is(records.find((r) => r.message === "announcement")?.text, HOSTILE_ANNOUNCE);
      t.is(records.find((r) => r.message === "kicked")?.reason, HOSTILE_REASON);
    } else {
      t.true(logged.includes("\\u001b]0;pwned\\u0007\\u001b[2Jhi"), "the announcement, escaped");
    }
  });
}

test("logging - tsctl logs escapes control bytes a log holds from before (or from another writer)", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), "--no-echo"]);
  t.teardown(() => daemon.cleanup());
  fs.appendFileSync(path.join(daemon.logDir, "tsd.log"), `old record text=${HOSTILE_ANNOUNCE}\n`);
  const shown = await daemon.tsctl(["logs", "-n", "3"]);
  t.is(shown.code, 0, shown.stderr);
  t.deepEqual(rawControls(shown.stdout), []);
  t.true(shown.stdout.includes("old record text=\\u001b]0;pwned\\u0007\\u001b[2Jhi"));
});
