import { constants } from "node:fs";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import path from "node:path";

/** One delivered chat line. */
export interface HistoryRecord {
  /** ms since the epoch */
  time: number;
  name: string;
  text: string;
}

export interface HistoryOptions {
  /** The JSON-lines file, in the state directory (which must exist). */
  file: string;
  /** Records kept in memory and loaded at open, e.g. 1000. */
  memoryLimit: number;
  /** When the file grows past this it is compacted down to the in-memory window, e.g. 16 MiB. */
  diskLimitBytes: number;
  /**
   * I/O failures after open (write, fsync, compaction) are reported here and the store keeps
   * serving from memory. Defaults to process.emitWarning.
   */
  onError?: (error: Error) => void;
}

interface FlushWaiter {
  target: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

const APPEND_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_APPEND;
const FILE_MODE = 0o600;
const NEWLINE = 0x0a;
const FIRST_CHUNK = 64 * 1024;
const MAX_CHUNK = 1024 * 1024;
/** After a failed compaction, wait this long before trying again (appends go on meanwhile). */
const COMPACT_RETRY_MS = 5000;
/** Queued-but-unwritten text beyond this means the disk is stuck: stop queueing (see dropBacklog). */
const MIN_BACKLOG_CHARS = 32 * 1024 * 1024;

/**
 * HistoryStore keeps the newest chat lines in memory and appends every line to a JSON-lines
 * file ({"t":…,"n":…,"x":…} per line), so history survives a restart.
 *
 * Appends cost a JSON.stringify and an array push: lines are collected and written by a
 * single pump with one write per event-loop turn (or per completed write, whichever is later).
 * A record torn by a crash is skipped on load and cut off before the next append. When the
 * file grows past diskLimitBytes it is replaced (temp file, fsync, rename) by the in-memory
 * window, bounded to half the limit so compactions stay rare.
 *
 * One process only: there is no cross-process locking.
 */
export class HistoryStore {
  readonly file: string;
  /** Invalid or torn lines met while loading (only the newest part of the file is examined). */
  readonly skippedOnLoad: number;

  private readonly memoryLimit: number;
  private readonly diskLimitBytes: number;
  private readonly maxBacklogChars: number;
  private readonly onError: (error: Error) => void;
  private fh: FileHandle | null;
  private fileSize: number;
  /** Set when the file may end in a partial line we could not truncate away. */
  private prefixNewline: boolean;

  /** Newest records; holds up to 2 * memoryLimit so trimming is amortised. */
  private window: HistoryRecord[];
  /** Serialised lines not yet handed to a write; always the newest pending.length records. */
  private pending: string[] = [];
  private pendingChars = 0;
  private appendedSeq = 0;
  /** Every record up to this sequence number has been written (or has failed). */
  private processedSeq = 0;
  private waiters: FlushWaiter[] = [];
  /** An I/O error not yet delivered to a flush() caller. */
  private unreportedError: Error | null = null;
  private needsCompaction = false;
  private nextCompactAt = 0;
  private scheduled = false;
  private running: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  private constructor(opts: HistoryOptions, fh: FileHandle, loaded: Loaded, onError: (error: Error) => void) {
    this.file = opts.file;
    this.memoryLimit = opts.memoryLimit;
    this.diskLimitBytes = opts.diskLimitBytes;
    this.maxBacklogChars = Math.max(opts.diskLimitBytes, MIN_BACKLOG_CHARS);
    this.onError = onError;
    this.fh = fh;
    this.window = loaded.records;
    this.skippedOnLoad = loaded.skipped;
    this.fileSize = loaded.size;
    this.prefixNewline = loaded.prefixNewline;
  }

  static async open(opts: HistoryOptions): Promise<HistoryStore> {
    if (!Number.isInteger(opts.memoryLimit) || opts.memoryLimit < 1) {
      throw new RangeError(`history memoryLimit must be a positive integer, got ${opts.memoryLimit}`);
    }
    if (!Number.isInteger(opts.diskLimitBytes) || opts.diskLimitBytes < 1) {
      throw new RangeError(`history diskLimitBytes must be a positive integer, got ${opts.diskLimitBytes}`);
    }
    const onError =
      opts.onError ?? ((error: Error) => process.emitWarning(error.message, { code: "TSD_HISTORY" }));
    // A leftover from a compaction interrupted by a crash; the real file is still intact.
    await unlink(tempName(opts.file)).catch(() => {});
    const fh = await open(opts.file, APPEND_FLAGS, FILE_MODE);
    try {
      const { size } = await fh.stat();
      const loaded = await loadTail(fh, size, opts.memoryLimit, 2 * opts.diskLimitBytes);
      if (loaded.size < size) await fh.truncate(loaded.size);
      const store = new HistoryStore(opts, fh, loaded, onError);
      if (store.fileSize > store.diskLimitBytes) store.kick();
      return store;
    } catch (error) {
      await fh.close().catch(() => {});
      throw error;
    }
  }

  /** Keeps the record in memory at once and queues it for the file. Throws only on an invalid record. */
  append(record: HistoryRecord): void {
    const { time, name, text } = record;
    if (
      typeof time !== "number" ||
      !Number.isFinite(time) ||
      typeof name !== "string" ||
      typeof text !== "string"
    ) {
      throw new TypeError("history record needs a finite time and string name and text");
    }
    this.window.push(Object.freeze({ time, name, text }));
    if (this.window.length > 2 * this.memoryLimit) {
      this.window.splice(0, this.window.length - this.memoryLimit);
    }
    if (this.closed) return;
    const line = `${JSON.stringify({ t: time, n: name, x: text })}\n`;
    this.appendedSeq++;
    this.pending.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars > this.maxBacklogChars) this.dropBacklog();
    this.kick();
  }

  /** The newest n records (at most memoryLimit), oldest first. */
  last(n: number): HistoryRecord[] {
    if (!(n > 0)) return [];
    const count = Math.min(Math.floor(Math.min(n, this.memoryLimit)), this.window.length);
    return this.window.slice(this.window.length - count);
  }

  /**
   * Resolves once every record appended before the call is written and fsynced. Rejects if a
   * write, fsync or compaction failed since the last flush settled (the records stay in memory;
   * a failed write triggers a compaction, which writes back those still in the window). After close()
   * it is close()'s promise.
   */
  flush(): Promise<void> {
    if (this.closing) return this.closing;
    return new Promise((resolve, reject) => {
      this.waiters.push({ target: this.appendedSeq, resolve, reject });
      this.kick();
    });
  }

  /** Flushes, then closes the file. Later appends are kept in memory only. */
  close(): Promise<void> {
    if (!this.closing) {
      const flushed = this.flush();
      this.closed = true;
      // later appends and flushes go nowhere near the file
      this.closing = (async () => {
        try {
          await flushed;
        } finally {
          await this.running;
          const fh = this.fh;
          this.fh = null;
          await fh?.close();
        }
      })();
    }
    return this.closing;
  }

  private kick(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.running) return;
      this.running = this.pump()
        .catch((error) => this.fail(error))
        .finally(() => {
          this.running = null;
        });
    });
  }

  private async pump(): Promise<void> {
    for (;;) {
      if (this.pending.length > 0) await this.writeBatch();
      if (this.compactionDue()) await this.compact();
      if (this.waiters.some((w) => w.target <= this.processedSeq)) await this.settleWaiters();
      if (this.pending.length === 0 && !this.compactionDue() && this.waiters.length === 0) return;
    }
  }

  private async writeBatch(): Promise<void> {
    const lines = this.pending;
    const end = this.appendedSeq;
    this.pending = [];
    this.pendingChars = 0;
    const data = Buffer.from(this.prefixNewline ? `\n${lines.join("")}` : lines.join(""));
    const before = this.fileSize;
    let written = 0;
    try {
      const fh = await this.handle();
      while (written < data.length) {
        const { bytesWritten } = await fh.write(data, written, data.length - written);
        written += bytesWritten;
      }
      this.fileSize = before + written;
      this.prefixNewline = false;
    } catch (error) {
      this.fail(error);
      await this.cutBack(before, written);
      // rewrite the file from the in-memory window, which still holds the failed records
      this.needsCompaction = true;
    }
    this.processedSeq = end;
  }

  /** After a failed write: drop any partial line, or at least make sure the next write starts a fresh line. */
  private async cutBack(size: number, written: number): Promise<void> {
    if (written === 0) return;
    try {
      await this.fh!.truncate(size);
      this.fileSize = size;
    } catch {
      this.fileSize = size + written;
      this.prefixNewline = true;
    }
  }

  private compactionDue(): boolean {
    return (this.needsCompaction || this.fileSize > this.diskLimitBytes) && Date.now() >= this.nextCompactAt;
  }

  /** Replaces the file by the written part of the in-memory window (newest first, up to half the limit). */
  private async compact(): Promise<void> {
    this.needsCompaction = false;
    const end = this.window.length - this.pending.length;
    const start = Math.max(0, this.window.length - this.memoryLimit);
    const budget = Math.floor(this.diskLimitBytes / 2);
    const lines: string[] = [];
    let bytes = 0;
    for (let i = end - 1; i >= start; i--) {
      const r = this.window[i]!;
      const line = `${JSON.stringify({ t: r.time, n: r.name, x: r.text })}\n`;
      const size = Buffer.byteLength(line);
      if (bytes + size > budget) break;
      lines.push(line);
      bytes += size;
    }
    const data = Buffer.from(lines.reverse().join(""));
    const temp = tempName(this.file);
    let th: FileHandle | null = null;
    try {
      th = await open(temp, "w", FILE_MODE);
      let written = 0;
      while (written < data.length) {
        written += (await th.write(data, written, data.length - written)).bytesWritten;
      }
      await th.sync();
      await th.close();
      th = null;
      await rename(temp, this.file);
    } catch (error) {
      await th?.close().catch(() => {});
      await unlink(temp).catch(() => {});
      this.nextCompactAt = Date.now() + COMPACT_RETRY_MS;
      this.fail(error);
      return;
    }
    await syncDir(path.dirname(this.file));
    const old = this.fh;
    this.fh = null;
    await old?.close().catch(() => {});
    this.fileSize = data.length;
    this.prefixNewline = false;
    try {
      await this.handle();
    } catch (error) {
      this.fail(error);
    }
  }

  private async settleWaiters(): Promise<void> {
    const ready = this.waiters.filter((w) => w.target <= this.processedSeq);
    this.waiters = this.waiters.filter((w) => w.target > this.processedSeq);
    try {
      await (await this.handle()).sync();
    } catch (error) {
      this.fail(error);
    }
    const error = this.unreportedError;
    this.unreportedError = null;
    for (const w of ready) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }

  /** The append handle, reopened if a compaction could not reopen it. */
  private async handle(): Promise<FileHandle> {
    if (!this.fh) {
      this.fh = await open(this.file, APPEND_FLAGS, FILE_MODE);
      this.fileSize = (await this.fh.stat()).size;
    }
    return this.fh;
  }

  /** The writer is far behind (stuck disk): forget the queued lines, compact from memory later. */
  private dropBacklog(): void {
    const dropped = this.pending.length;
    this.pending = [];
    this.pendingChars = 0;
    this.processedSeq = this.appendedSeq;
    this.needsCompaction = true;
    this.fail(new Error(`history writes are behind; ${dropped} queued records kept in memory only`));
  }

  private fail(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.unreportedError ??= err;
    try {
      this.onError(err);
    } catch {
      // a throwing reporter must not stop the writer
    }
  }
}

interface Loaded {
  /** oldest first */
  records: HistoryRecord[];
  skipped: number;
  /** Bytes to keep: the offset just after the last newline. */
  size: number;
  prefixNewline: boolean;
}

/**
 * Reads the file backwards in chunks until memoryLimit valid records are found, the file
 * starts, or scanLimit bytes have been read. Whatever follows the last newline is a torn
 * record: it is counted as skipped and cut off.
 */
async function loadTail(
  fh: FileHandle,
  size: number,
  memoryLimit: number,
  scanLimit: number,
): Promise<Loaded> {
  const newestFirst: HistoryRecord[] = [];
  let skipped = 0;
  let keep: number | null = size === 0 ? 0 : null;
  let pos = size;
  let scanned = 0;
  let chunk = FIRST_CHUNK;
  let carry: Buffer = Buffer.alloc(0);

  const take = (data: Buffer, start: number, end: number) => {
    if (end <= start) return; // empty line
    const record = parseLine(data.toString("utf8", start, end));
    if (record) newestFirst.push(record);
    else skipped++;
  };

  outer: while (pos > 0 && scanned < scanLimit) {
    const length = Math.min(chunk, pos, scanLimit - scanned);
    chunk = Math.min(chunk * 2, MAX_CHUNK);
    pos -= length;
    scanned += length;
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, pos + got);
      if (bytesRead === 0) throw new Error(`${fh.fd}: history file shrank while loading`);
      got += bytesRead;
    }
    const data = carry.length > 0 ? Buffer.concat([buf, carry]) : buf;
    let end = data.length;
    let nl = data.lastIndexOf(NEWLINE, end - 1);
    while (nl !== -1) {
      if (keep === null) {
        keep = pos + nl + 1;
        if (end > nl + 1) skipped++; // torn last record
      } else {
        take(data, nl + 1, end);
        if (newestFirst.length >= memoryLimit) break outer;
      }
      end = nl;
      nl = end > 0 ? data.lastIndexOf(NEWLINE, end - 1) : -1;
    }
    carry = data.subarray(0, end);
  }
  if (newestFirst.length < memoryLimit && pos === 0 && carry.length > 0) {
    if (keep === null) {
      keep = 0; // no newline at all: the only record is torn
      skipped++;
    } else {
      take(carry, 0, carry.length);
    }
  }
  // No newline within scanLimit: cannot cut the torn tail, so start the next write on a new line.
  const prefixNewline = keep === null;
  if (keep === null) skipped++;
  return { records: newestFirst.reverse(), skipped, size: keep ?? size, prefixNewline };
}

function parseLine(line: string): HistoryRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { t, n, x } = value as { t?: unknown; n?: unknown; x?: unknown };
  if (typeof t !== "number" || !Number.isFinite(t) || typeof n !== "string" || typeof x !== "string") {
    return null;
  }
  return Object.freeze({ time: t, name: n, text: x });
}

function tempName(file: string): string {
  return `${file}.compact.tmp`;
}

async function syncDir(dir: string): Promise<void> {
  let dh: FileHandle | null = null;
  try {
    dh = await open(dir, "r");
    await dh.sync();
  } catch {
    // not every platform can fsync a directory; the rename itself is still atomic
  } finally {
    await dh?.close().catch(() => {});
  }
}
