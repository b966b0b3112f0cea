import { spawn } from "node:child_process";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test, { type ExecutionContext } from "ava";
import {
  type HistoryOptions,
  type HistoryRecovery,
  HistoryStore,
} from "../../daemon/primary/hub/history-store.ts";
import type { HistoryEntry } from "../../protocol/hub-messages.ts";
import { waitFor } from "../helpers/daemon.ts";
import { SmallDisk, smallDiskUnavailable } from "../helpers/small-disk.ts";

const writer = fileURLToPath(new URL("fixtures/history-writer.ts", import.meta.url));

function tempFile(t: ExecutionContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tsd-history-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, "history.jsonl");
}

function options(file: string, extra: Partial<HistoryOptions> = {}): HistoryOptions {
  return { file, memoryLimit: 1000, diskLimitBytes: 16 * 1024 * 1024, ...extra };
}

const rec = (i: number): HistoryEntry => ({
  time: 1_700_000_000_000 + i,
  name: `u${i % 7}`,
  text: `line ${i}`,
});
const texts = (records: HistoryEntry[]) => records.map((r) => r.text);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `line ${from + k}`);

function diskLines(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").filter(Boolean);
}

test("history store - last() returns the newest n, oldest first", async (t) => {
  const store = await HistoryStore.open(options(tempFile(t)));
  for (let i = 0; i < 10; i++) store.append(rec(i));
  t.deepEqual(texts(store.last(3)), range(7, 10));
  t.deepEqual(texts(store.last(100)), range(0, 10));
  t.deepEqual(store.last(0), []);
  t.deepEqual(store.last(1)[0], rec(9));
  await store.close();
});

test("history store - records survive close and reopen with time and author", async (t) => {
  const file = tempFile(t);
  const store = await HistoryStore.open(options(file));
  const records = [rec(1), { time: 5, name: "bob", text: 'quotes " and\nnewline and ünïcode 🎉' }, rec(3)];
  for (const r of records) store.append(r);
  await store.close();
  const again = await HistoryStore.open(options(file));
  t.deepEqual(again.last(10), records);
  t.is(again.skippedOnLoad, 0);
  await again.close();
});

test("history store - memoryLimit bounds last() and the window loaded at open", async (t) => {
  const file = tempFile(t);
  const store = await HistoryStore.open(options(file, { memoryLimit: 5 }));
  for (let i = 0; i < 50; i++) store.append(rec(i));
  t.deepEqual(texts(store.last(100)), range(45, 50));
  await store.close();
  t.is(diskLines(file).length, 50);
  const again = await HistoryStore.open(options(file, { memoryLimit: 4 }));
  t.deepEqual(texts(again.last(100)), range(46, 50));
  await again.close();
});

test("history store - a torn last record is skipped and the next append after reopen is intact", async (t) => {
  const file = tempFile(t);
  const store = await HistoryStore.open(options(file));
  store.append(rec(1));
  store.append(rec(2));
  await store.close();
  appendFileSync(file, '{"t":1700000000003,"n":"u3","x":"li');
  const torn = await HistoryStore.open(options(file));
  t.is(torn.skippedOnLoad, 1);
  t.deepEqual(texts(torn.last(10)), range(1, 3));
  torn.append(rec(4));
  await torn.close();
  t.true(readFileSync(file, "utf8").endsWith("\n"));
  const again = await HistoryStore.open(options(file));
  t.is(again.skippedOnLoad, 0);
  t.deepEqual(again.last(10), [rec(1), rec(2), rec(4)]);
  await again.close();
});

test("history store - a file holding only a torn record loads empty and is reused", async (t) => {
  const file = tempFile(t);
  writeFileSync(file, '{"t":1,"n":"a"', { mode: 0o600 });
  const store = await HistoryStore.open(options(file));
  t.is(store.skippedOnLoad, 1);
  t.deepEqual(store.last(10), []);
  store.append(rec(1));
  await store.close();
  t.deepEqual(
    diskLines(file).map((l) => JSON.parse(l)),
    [{ t: rec(1).time, n: "u1", x: "line 1" }],
  );
});

test("history store - garbage and invalid lines in the middle are skipped and counted, the rest kept", async (t) => {
  const file = tempFile(t);
  const line = (i: number) => `${JSON.stringify({ t: rec(i).time, n: rec(i).name, x: rec(i).text })}\n`;
  writeFileSync(
    file,
    [
      line(0),
      "not json at all\n",
      line(1),
      '{"t":"soon","n":"a","x":"b"}\n',
      '{"t":1,"n":2,"x":"b"}\n',
      "null\n",
      line(2),
    ].join(""),
  );
  const store = await HistoryStore.open(options(file));
  t.is(store.skippedOnLoad, 4);
  t.deepEqual(texts(store.last(10)), range(0, 3));
  await store.close();
});

test("history store - the file stays bounded by compaction and the newest records survive a reopen", async (t) => {
  const file = tempFile(t);
  const diskLimitBytes = 8 * 1024;
  const store = await HistoryStore.open(options(file, { memoryLimit: 50, diskLimitBytes }));
  let maxSize = 0;
  for (let i = 0; i < 20_000; i++) {
    store.append(rec(i));
    if (i % 500 === 499) {
      await store.flush();
      maxSize = Math.max(maxSize, statSync(file).size);
    }
  }
  await store.flush();
  const size = statSync(file).size;
  t.true(size <= diskLimitBytes, `file is ${size} bytes`);
  t.true(maxSize <= diskLimitBytes, `file reached ${maxSize} bytes`);
  await store.close();
  const again = await HistoryStore.open(options(file, { memoryLimit: 50, diskLimitBytes }));
  t.is(again.skippedOnLoad, 0);
  t.deepEqual(texts(again.last(50)), range(19_950, 20_000));
  await again.close();
});

test("history store - 10,000 appends are all on disk once flush resolves", async (t) => {
  const file = tempFile(t);
  const store = await HistoryStore.open(options(file));
  for (let i = 0; i < 10_000; i++) store.append(rec(i));
  await store.flush();
  const lines = diskLines(file);
  t.is(lines.length, 10_000);
  t.deepEqual(
    lines.map((l) => JSON.parse(l).x),
    range(0, 10_000),
  );
  await store.close();
});

test("history store - flush waits for appends made while a write is in flight", async (t) => {
  const file = tempFile(t);
  const store = await HistoryStore.open(options(file));
  store.append(rec(0));
  const first = store.flush();
  await new Promise((resolve) => setImmediate(resolve));
  store.append(rec(1));
  const second = store.flush();
  await first;
  await second;
  t.deepEqual(
    diskLines(file).map((l) => JSON.parse(l).x),
    range(0, 2),
  );
  await store.close();
});

test("history store - the file is created with mode 0600", async (t) => {
  const file = tempFile(t);
  const store = await HistoryStore.open(options(file, { diskLimitBytes: 1024, memoryLimit: 5 }));
  t.is(statSync(file).mode & 0o777, 0o600);
  for (let i = 0; i < 500; i++) store.append(rec(i));
  await store.close();
  t.is(statSync(file).mode & 0o777, 0o600, "still 0600 after compaction");
});

test("history store - a write on a broken handle is reported, not thrown, and retried on a fresh one", async (t) => {
  const file = tempFile(t);
  const errors: Error[] = [];
  const store = await HistoryStore.open(options(file, { onError: (e) => errors.push(e) }));
  // Sabotage the handle underneath the store: every write now fails with EBADF.
  const fh = (store as unknown as { fh: { close(): Promise<void> } }).fh;
  await fh.close();
  t.notThrows(() => store.append(rec(1)));
  await t.throwsAsync(store.flush());
  t.true(errors.length > 0);
  t.deepEqual(texts(store.last(5)), ["line 1"]);
  t.is(errors.length, 1, "reported once");
  // The failed line stayed queued; the next append retries it on a newly opened handle.
  store.append(rec(2));
  await store.close();
  t.deepEqual(
    diskLines(file).map((l) => JSON.parse(l).x),
    range(1, 3),
  );
});

test("history store - open reads only a bounded tail of an oversized file", async (t) => {
  const file = tempFile(t);
  const line = (i: number) => `${JSON.stringify({ t: rec(i).time, n: rec(i).name, x: rec(i).text })}\n`;
  writeFileSync(file, Array.from({ length: 5000 }, (_, i) => line(i)).join(""));
  const before = statSync(file).size;
  const diskLimitBytes = 1024;
  const store = await HistoryStore.open(options(file, { memoryLimit: 100_000, diskLimitBytes }));
  const loaded = store.last(Number.POSITIVE_INFINITY);
  t.true(loaded.length > 0 && loaded.length * 40 <= 2 * diskLimitBytes, `${loaded.length} records loaded`);
  t.deepEqual(texts(loaded), range(5000 - loaded.length, 5000));
  t.is(store.skippedOnLoad, 0, "the line cut by the scan window is not counted as damage");
  await store.flush();
  t.true(statSync(file).size <= diskLimitBytes, `compacted from ${before} bytes`);
  await store.close();
});

test("history store - bad options and bad records are rejected", async (t) => {
  const file = tempFile(t);
  await t.throwsAsync(HistoryStore.open(options(file, { memoryLimit: 0 })), { instanceOf: RangeError });
  await t.throwsAsync(HistoryStore.open(options(file, { diskLimitBytes: Number.NaN })), {
    instanceOf: RangeError,
  });
  const store = await HistoryStore.open(options(file));
  t.throws(() => store.append({ time: Number.NaN, name: "a", text: "b" }), { instanceOf: TypeError });
  t.throws(() => store.append({ time: 1, name: "a", text: 3 as unknown as string }), {
    instanceOf: TypeError,
  });
  t.deepEqual(store.last(5), []);
  await store.close();
});

test("history store - a writer killed with SIGKILL mid-stream loses nothing it reported flushed", async (t) => {
  const file = tempFile(t);
  const child = spawn(process.execPath, [writer, file], { stdio: ["ignore", "pipe", "inherit"] });
  let reported = 0;
  let reports = 0;
  let buffered = "";
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on("exit", (_code, signal) => resolve(signal)),
  );
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      const match = /^flushed (\d+)$/.exec(line);
      if (!match) continue;
      reported = Math.max(reported, Number(match[1]));
      if (++reports === 20) child.kill("SIGKILL");
    }
  });
  t.is(await exited, "SIGKILL");
  t.true(reported > 0);

  const store = await HistoryStore.open(
    options(file, { memoryLimit: 10_000_000, diskLimitBytes: 64 * 1024 * 1024 }),
  );
  t.true(store.skippedOnLoad <= 1, `skipped ${store.skippedOnLoad}`);
  const seen = store.last(Number.POSITIVE_INFINITY).map((r) => r.text);
  t.true(seen.length >= reported, `${seen.length} records loaded, ${reported} reported flushed`);
  // In order, without gaps or duplicates: m0 .. m<seen-1>.
  t.deepEqual(
    seen,
    Array.from({ length: seen.length }, (_, i) => `m${i}`),
  );
  // The store is usable after the crash: a new record lands on a line of its own.
  store.append({ time: 1, name: "after", text: "crash" });
  await store.close();
  const again = await HistoryStore.open(options(file, { memoryLimit: 10_000_000 }));
  t.is(again.skippedOnLoad, 0);
  t.is(again.last(1)[0]!.text, "crash");
  t.is(again.last(Number.POSITIVE_INFINITY).length, seen.length + 1);
  await again.close();
});

// A full disk, for real: a tmpfs of a few pages (root only).
const noSmallDisk = smallDiskUnavailable();
if (noSmallDisk) console.warn(`history store: full-disk tests skipped: ${noSmallDisk}`);
const fullDiskTest = noSmallDisk ? test.skip : test;

function smallDisk(t: ExecutionContext, sizeBytes: number): SmallDisk {
  const dir = mkdtempSync(path.join(tmpdir(), "tsd-history-disk-"));
  const disk = SmallDisk.mount(dir, sizeBytes);
  t.teardown(() => {
    disk.unmount();
    rmSync(dir, { recursive: true, force: true });
  });
  return disk;
}

function reporters(): { errors: Error[]; recoveries: HistoryRecovery[]; opts: Partial<HistoryOptions> } {
  const errors: Error[] = [];
  const recoveries: HistoryRecovery[] = [];
  return {
    errors,
    recoveries,
    opts: { onError: (e) => errors.push(e), onRecovered: (r) => recoveries.push(r) },
  };
}

fullDiskTest(
  "history store - a full disk: every held line is written once there is room, in order, once; failure and recovery reported once",
  async (t) => {
    const disk = smallDisk(t, 128 * 1024);
    const file = path.join(disk.dir, "history.jsonl");
    const { errors, recoveries, opts } = reporters();
    const store = await HistoryStore.open(options(file, opts));
    store.append(rec(0));
    await store.flush();
    t.true(disk.fill() > 0);
    // 149 lines while full, in batches: the last page's slack takes the first few, then each batch
    // (and each flush) retries, and fails.
    let failures = 0;
    for (let i = 1; i < 150; i++) {
      store.append(rec(i));
      if (i % 10 === 0) await store.flush().catch(() => failures++);
    }
    await t.throwsAsync(store.flush(), { code: "ENOSPC" });
    t.true(failures >= 3, `${failures} flushes failed`);
    t.is(errors.length, 1, `one report for the whole episode: ${errors.map((e) => e.message).join("; ")}`);
    t.is(recoveries.length, 0);
    t.deepEqual(texts(store.last(150)), range(0, 150), "memory keeps serving");

    disk.free();
    // No append and no flush: the retry timer alone writes what was held.
    await waitFor(() => diskLines(file).length >= 150, 15_000, "the held lines on disk");
    t.deepEqual(
      diskLines(file).map((l) => JSON.parse(l).x),
      range(0, 150),
      "each line once, in order",
    );
    await waitFor(() => recoveries.length > 0, 5000, "the recovery report");
    t.is(recoveries.length, 1);
    t.is(recoveries[0]!.dropped, 0);
    t.true(recoveries[0]!.writtenLate > 0 && recoveries[0]!.writtenLate <= 149);
    t.is(errors.length, 1);
    await store.flush();
    await store.close();
    const again = await HistoryStore.open(options(file));
    t.is(again.skippedOnLoad, 0);
    t.deepEqual(texts(again.last(1000)), range(0, 150));
    await again.close();
  },
);

fullDiskTest(
  "history store - while writes fail the held lines are bounded by the in-memory window; the drop is said once",
  async (t) => {
    const disk = smallDisk(t, 64 * 1024);
    const file = path.join(disk.dir, "history.jsonl");
    const { errors, recoveries, opts } = reporters();
    const store = await HistoryStore.open(options(file, { ...opts, memoryLimit: 10 }));
    disk.fill();
    for (let i = 0; i < 100; i++) {
      store.append(rec(i));
      if (i % 25 === 24) await t.throwsAsync(store.flush());
    }
    t.deepEqual(
      errors.map((e) => e.name),
      ["Error", "HistoryLinesDropped"],
      "the failure, then the drop, each once",
    );
    disk.free();
    await store.flush();
    // The file was empty and the disk full from the start: exactly the window's 10 newest lines.
    t.deepEqual(
      diskLines(file).map((l) => JSON.parse(l).x),
      range(90, 100),
    );
    await waitFor(() => recoveries.length > 0, 5000, "the recovery report");
    t.is(recoveries[0]!.dropped, 90);
    t.is(recoveries[0]!.writtenLate, 10);
    await store.close();
  },
);

fullDiskTest(
  "history store - closing on a full disk resolves and reports the lines it could not write",
  async (t) => {
    const disk = smallDisk(t, 64 * 1024);
    const file = path.join(disk.dir, "history.jsonl");
    const { errors, opts } = reporters();
    const store = await HistoryStore.open(options(file, opts));
    disk.fill();
    for (let i = 0; i < 20; i++) store.append(rec(i));
    await store.close();
    t.is(errors.length, 2);
    t.regex(errors[1]!.message, /^20 history lines dropped: .*closing/);
    store.append(rec(20));
    t.is(store.last(1)[0]!.text, "line 20", "memory still serves after close");
  },
);

test("history store - a compaction that fails is tried again on its own and keeps every line", async (t) => {
  const file = tempFile(t);
  const diskLimitBytes = 2048;
  const { errors, recoveries, opts } = reporters();
  const store = await HistoryStore.open(options(file, { ...opts, memoryLimit: 20, diskLimitBytes }));
  // A directory where the compaction's temp file goes: opening it fails with EISDIR.
  const temp = `${file}.compact.tmp`;
  mkdirSync(temp);
  for (let i = 0; i < 60; i++) store.append(rec(i));
  await store.flush();
  t.true(statSync(file).size > diskLimitBytes, "over the limit: the compaction failed");
  t.is(diskLines(file).length, 60, "no line lost meanwhile");
  t.is(errors.length, 1);
  rmdirSync(temp);
  // Nothing else happens: the retry comes from the store's own timer.
  await waitFor(() => statSync(file).size <= diskLimitBytes, 15_000, "the compaction's retry");
  t.deepEqual(
    diskLines(file).map((l) => JSON.parse(l).x),
    range(60 - diskLines(file).length, 60),
  );
  t.false(existsSync(temp));
  await waitFor(() => recoveries.length > 0, 5000, "the recovery report");
  t.is(errors.length, 1);
  await store.close();
});

test("history store - a /me action survives close and reopen as an action (a: 1 in the file)", async (t) => {
  const file = tempFile(t);
  const store = await HistoryStore.open(options(file));
  const records: HistoryEntry[] = [rec(1), { time: 7, name: "alice", text: "waves", action: true }, rec(2)];
  for (const r of records) store.append(r);
  await store.close();
  t.deepEqual(
    diskLines(file).map((l) => JSON.parse(l)),
    [
      { t: rec(1).time, n: rec(1).name, x: "line 1" },
      { t: 7, n: "alice", x: "waves", a: 1 },
      { t: rec(2).time, n: rec(2).name, x: "line 2" },
    ],
    "plain messages keep the old format",
  );
  const again = await HistoryStore.open(options(file));
  t.deepEqual(again.last(10), records);
  await again.close();
});
