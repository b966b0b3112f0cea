import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient, sleep } from "../helpers/chat-client.ts";
import { startDaemon, tempDir, waitFor, shape } from "../helpers/daemon.ts";

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
        [...fs.readFileSync(file, "utf8").matchAll(/ (w\d+\.t\d+) connect address=/g)].map((m) => m[1]),
      );
      return found.size > 1 ? found : null;
    },
    5000,
    "connect records from more than one thread",
  );
  t.true(sources.size > 1, [...sources].join(","));
  await waitFor(
    () => /disconnect address=127\.0\.0\.1 name=null reason=/.test(fs.readFileSync(file, "utf8")),
    5000,
    "disconnects",
  );
  t.regex(
    daemon.stdout(),
    / w\d+\.t\d+ connect address=127\.0\.0\.1/,
    "the same records on stdout for the journal",
  );
});

test("logging - --log-format json writes one JSON object per line", async (t) => {
  const daemon = await startDaemon(["--workers", "1", "--log-format", "json"]);
  t.teardown(() => daemon.cleanup());
  const c = await ChatClient.connect(daemon.chatPort);
  await c.loginPrompt();
  c.close();
  await sleep(300);
  const lines = fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8").trim().split("\n");
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
  for (let i = 0; i < 40; i++) await daemon.tsctl(["announce", `filler ${i} ${"x".repeat(100)}`]);
  await sleep(300);
  t.true(fs.existsSync(`${file}.1`), "rotated once at least");
  t.false(fs.existsSync(`${file}.3`), "no more than --log-keep files");
  t.true(fs.statSync(file).size <= 4096 + 512);

  fs.renameSync(file, `${file}.moved`);
  daemon.proc.kill("SIGHUP");
  await waitFor(() => fs.existsSync(file), 3000, "a new tsd.log after SIGHUP");
  await daemon.tsctl(["announce", "after-reopen"]);
  await waitFor(
    () => fs.readFileSync(file, "utf8").includes("after-reopen"),
    3000,
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
  await waitFor(() => /disconnect/.test(daemon.stdout()), 5000, "records on stdout");
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
