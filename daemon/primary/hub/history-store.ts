import { constants } from "node:fs";
import { type FileHandle, open, unlink } from "node:fs/promises";
import type { HistoryEntry } from "../../../protocol/hub-messages.ts";
import { writeFileAtomically } from "../../shared/atomic-write.ts";
import {
  HISTORY_COMPACT_RETRY_MS,
  HISTORY_MIN_BACKLOG_CHARS,
  HISTORY_RETRY_FIRST_MS,
  HISTORY_RETRY_MAX_MS,
} from "../../shared/limits.ts";

export interface HistoryOptions {
  /** The JSON-lines file, in the state directory (which must exist). */
  file: string;
  /** Records kept in memory and loaded at open, e.g. 1000. */
  memoryLimit: number;
  /** When the file grows past this it is compacted down to the in-memory window, e.g. 16 MiB. */
  diskLimitBytes: number;
  /**
   * Trouble with the file after open: the first failure of an episode (a write, fsync or
   * compaction), and lines dropped because more were waiting than the in-memory window
   * (HistoryLinesDropped). Called once per kind per episode, never per retry. The store keeps
   * serving from memory and retries. Defaults to process.emitWarning.
   */
  onError?: (error: Error) => void;
  /** The episode is over: every line held is on disk again. Called once per episode. */
  onRecovered?: (report: HistoryRecovery) => void;
}

/** How an episode of trouble with the file ended. */
export interface HistoryRecovery {
  /** Lines written after they had failed or waited. */
  writtenLate: number;
  /** Lines given up because more than the in-memory window were waiting. */
  dropped: number;
  /** How long the episode lasted. */
  troubleMs: number;
}

/** Lines that were never written: the backlog outgrew its bound, or the store closed with the disk still failing. */
export class HistoryLinesDropped extends Error {
  readonly dropped: number;
  constructor(dropped: number, why: string) {
    super(`${dropped} history lines dropped: ${why}`);
    this.name = "HistoryLinesDropped";
    this.dropped = dropped;
  }
}

interface FlushWaiter {
  target: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface Trouble {
  since: number;
  firstError: Error;
  writtenLate: number;
  dropped: number;
  droppedReported: boolean;
}

const APPEND_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_APPEND;
const FILE_MODE = 0o600;
const NEWLINE = 0x0a;
const FIRST_CHUNK = 64 * 1024;
const MAX_CHUNK = 1024 * 1024;

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
 * A line whose write fails (a full disk, an I/O error) stays queued and is written, once and in
 * order, when a retry succeeds: retries back off from HISTORY_RETRY_FIRST_MS to HISTORY_RETRY_MAX_MS, and every
 * new append retries too. While writes fail the queue is bounded by the in-memory window
 * (memoryLimit lines): the oldest beyond it are dropped, and that is reported.
 *
 * One process only: the daemon holds the state directory's lock (state-lock.ts).
 */
export class HistoryStore {
  readonly file: string;
  /** Invalid or torn lines met while loading (only the newest part of the file is examined). */
  readonly skippedOnLoad: number;

  private readonly memoryLimit: number;
  private readonly diskLimitBytes: number;
  private readonly maxBacklogChars: number;
  private readonly onError: (error: Error) => void;
  private readonly onRecovered: (report: HistoryRecovery) => void;
  private fh: FileHandle | null;
  private fileSize: number;
  /** Set when the file may end in a partial line we could not truncate away. */
  private prefixNewline: boolean;

  /** Newest records; holds up to 2 * memoryLimit so trimming is amortised. */
  private window: HistoryEntry[];
  /** Serialised lines not yet written, oldest first; always the newest records but for a write in flight. */
  private pending: string[] = [];
  private pendingChars = 0;
  /** Lines handed to the write in flight (out of pending until it settles). */
  private inFlight = 0;
  private appendedSeq = 0;
  /** Every record up to this sequence number has had a write attempt (it is on disk, or pending again). */
  private attemptedSeq = 0;
  private waiters: FlushWaiter[] = [];
  private trouble: Trouble | null = null;
  /** Whether the last write failed, so the next one waits for a retry (timer or append). */
  private writeFailing = false;
  private retryDue = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = HISTORY_RETRY_FIRST_MS;
  private compactFailing = false;
  private nextCompactAt = 0;
  private scheduled = false;
  private running: Promise<void> | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** close() is done: the file is never touched again. */
  private finished = false;

  private constructor(opts: HistoryOptions, fh: FileHandle, loaded: Loaded) {
    this.file = opts.file;
    this.memoryLimit = opts.memoryLimit;
    this.diskLimitBytes = opts.diskLimitBytes;
    this.maxBacklogChars = Math.max(opts.diskLimitBytes, HISTORY_MIN_BACKLOG_CHARS);
    this.onError =
      opts.onError ?? ((error: Error) => process.emitWarning(error.message, { code: "TSD_HISTORY" }));
    this.onRecovered = opts.onRecovered ?? (() => {});
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
    // A leftover from a compaction interrupted by a crash; the real file is still intact.
    await unlink(tempName(opts.file)).catch(() => {});
    const fh = await open(opts.file, APPEND_FLAGS, FILE_MODE);
    try {
      const { size } = await fh.stat();
      const loaded = await loadTail(fh, size, opts.memoryLimit, 2 * opts.diskLimitBytes);
      if (loaded.size < size) await fh.truncate(loaded.size);
      const store = new HistoryStore(opts, fh, loaded);
      if (store.fileSize > store.diskLimitBytes) store.kick();
      return store;
    } catch (error) {
      await fh.close().catch(() => {});
      throw error;
    }
  }

  /** Keeps the record in memory at once and queues it for the file. Throws only on an invalid record. */
  append(record: HistoryEntry): void {
    const { time, name, text, action } = record;
    if (
      typeof time !== "number" ||
      !Number.isFinite(time) ||
      typeof name !== "string" ||
      typeof text !== "string"
    ) {
      throw new TypeError("history record needs a finite time and string name and text");
    }
    this.window.push(Object.freeze(action ? { time, name, text, action } : { time, name, text }));
    if (this.window.length > 2 * this.memoryLimit) {
      this.window.splice(0, this.window.length - this.memoryLimit);
    }
    if (this.closed) return;
    const line = recordLine(record);
    this.appendedSeq++;
    this.pending.push(line);
    this.pendingChars += line.length;
    this.trimBacklog();
    // A failing disk is tried again with every new line, not only when the retry timer fires.
    this.retryDue = true;
    this.kick();
  }

  /** The newest n records (at most memoryLimit), oldest first. */
  last(n: number): HistoryEntry[] {
    if (!(n > 0)) return [];
    const count = Math.min(Math.floor(Math.min(n, this.memoryLimit)), this.window.length);
    return this.window.slice(this.window.length - count);
  }

  /**
   * Resolves once every record appended before the call is written and fsynced. Rejects if the
   * writer tried and could not write them (or fsync failed): those records stay queued and are
   * retried, so a later flush can resolve. After close() it is close()'s promise.
   */
  flush(): Promise<void> {
    if (this.closing) return this.closing;
    // An explicit request to write: a failing disk is tried again now.
    this.retryDue = true;
    return new Promise((resolve, reject) => {
      this.waiters.push({ target: this.appendedSeq, resolve, reject });
      this.kick();
    });
  }

  /**
   * Makes a last attempt to write what is queued, then closes the file. Never rejects: lines
   * that still cannot be written are reported (HistoryLinesDropped). Later appends are kept in
   * memory only.
   */
  close(): Promise<void> {
    if (!this.closing) {
      const flushed = this.flush();
      this.closed = true;
      // later appends and flushes go nowhere near the file
      this.closing = (async () => {
        await flushed.catch(() => {});
        await this.running;
        this.cancelRetry();
        const unwritten = this.pending.length + this.inFlight;
        if (unwritten > 0) {
          this.pending = [];
          this.pendingChars = 0;
          this.report(
            new HistoryLinesDropped(unwritten, "the history file could not be written before closing"),
          );
        }
        this.finished = true;
        const fh = this.fh;
        this.fh = null;
        await fh?.close().catch(() => {});
      })();
    }
    return this.closing;
  }

  private kick(): void {
    if (this.running || this.scheduled || this.finished) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.running) return;
      this.running = this.pump()
        .catch((error) => this.failed(error))
        .finally(() => {
          this.running = null;
          // work that arrived while the pump was finishing
          if (this.hasWork()) this.kick();
        });
    });
  }

  private writeAllowed(): boolean {
    return this.pending.length > 0 && (!this.writeFailing || this.retryDue);
  }

  private hasWork(): boolean {
    return this.writeAllowed() || this.compactionDue() || this.waiters.some((w) => this.settleable(w));
  }

  private async pump(): Promise<void> {
    for (let progress = true; progress; ) {
      progress = false;
      if (this.writeAllowed()) {
        await this.writeBatch();
        progress = true;
      }
      if (this.compactionDue()) {
        await this.compact();
        progress = true;
      }
      if (this.waiters.some((w) => this.settleable(w))) {
        await this.settleWaiters();
        progress = true;
      }
      this.checkRecovered();
    }
  }

  private async writeBatch(): Promise<void> {
    this.retryDue = false;
    const lines = this.pending;
    const end = this.appendedSeq;
    this.pending = [];
    this.pendingChars = 0;
    this.inFlight = lines.length;
    const prefix = this.prefixNewline ? "\n" : "";
    const data = Buffer.from(prefix + lines.join(""));
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
      this.inFlight = 0;
      this.attemptedSeq = end;
      if (this.trouble) this.trouble.writtenLate += lines.length;
      this.writeFailing = false;
      this.retryDelayMs = HISTORY_RETRY_FIRST_MS;
    } catch (error) {
      const kept = await this.cutBack(before, data, written, prefix.length);
      // The next attempt opens the file afresh: a handle that failed may stay broken.
      const broken = this.fh;
      this.fh = null;
      await broken?.close().catch(() => {});
      if (this.trouble) this.trouble.writtenLate += kept;
      // The lines not on disk go back in front of those appended meanwhile, in order.
      const unwritten = lines.slice(kept);
      this.pending = unwritten.concat(this.pending);
      this.pendingChars += unwritten.reduce((sum, line) => sum + line.length, 0);
      this.inFlight = 0;
      this.attemptedSeq = end;
      this.writeFailing = true;
      this.failed(error);
      this.trimBacklog();
      this.scheduleRetry(this.retryDelayMs);
      this.retryDelayMs = Math.min(HISTORY_RETRY_MAX_MS, this.retryDelayMs * 2);
    }
  }

  /**
   * After a failed write: cuts the file back to where the batch started, so no line is written
   * twice. If it cannot be cut, the whole lines that made it count as written and the next write
   * starts on a fresh line. Returns how many of the batch's lines are on disk.
   */
  private async cutBack(size: number, data: Buffer, written: number, prefixBytes: number): Promise<number> {
    if (written === 0) return 0;
    try {
      await this.fh!.truncate(size);
      this.fileSize = size;
      return 0;
    } catch {
      this.fileSize = size + written;
      let whole = 0;
      for (
        let at = data.indexOf(NEWLINE, prefixBytes);
        at !== -1 && at < written;
        at = data.indexOf(NEWLINE, at + 1)
      ) {
        whole++;
      }
      this.prefixNewline = data[written - 1] !== NEWLINE;
      return whole;
    }
  }

  /**
   * Bounds the unwritten lines: while writes fail, to the in-memory window (memoryLimit lines);
   * always, to maxBacklogChars of text (a disk that stopped answering). The oldest go first.
   */
  private trimBacklog(): void {
    const overChars = this.pendingChars > this.maxBacklogChars;
    if (!overChars && !(this.writeFailing && this.pending.length > this.memoryLimit)) return;
    let drop = Math.max(0, this.pending.length - this.memoryLimit);
    let chars = this.pendingChars;
    for (let i = 0; i < drop; i++) chars -= this.pending[i]!.length;
    while (chars > this.maxBacklogChars && drop < this.pending.length) chars -= this.pending[drop++]!.length;
    if (drop === 0) return;
    this.pending.splice(0, drop);
    this.pendingChars = chars;
    const error = new HistoryLinesDropped(
      drop,
      `more than the in-memory window (${this.memoryLimit} lines) were waiting to be written`,
    );
    const opened = this.trouble === null;
    const trouble = this.enterTrouble(error);
    trouble.dropped += drop;
    // Said once per episode: at its start (above), or now if it began with a write error.
    if (!trouble.droppedReported && !opened) this.report(error);
    trouble.droppedReported = true;
  }

  private compactionDue(): boolean {
    return this.fileSize > this.diskLimitBytes && Date.now() >= this.nextCompactAt;
  }

  /** Replaces the file by the written part of the in-memory window (newest first, up to half the limit). */
  private async compact(): Promise<void> {
    const end = this.window.length - this.pending.length;
    const start = Math.max(0, this.window.length - this.memoryLimit);
    const budget = Math.floor(this.diskLimitBytes / 2);
    const lines: string[] = [];
    let bytes = 0;
    for (let i = end - 1; i >= start; i--) {
      const r = this.window[i]!;
      const line = recordLine(r);
      const size = Buffer.byteLength(line);
      if (bytes + size > budget) break;
      lines.push(line);
      bytes += size;
    }
    const data = Buffer.from(lines.reverse().join(""));
    try {
      await writeFileAtomically(this.file, data, { temp: tempName(this.file), mode: FILE_MODE });
    } catch (error) {
      // The file keeps its lines and stays due: tried again after HISTORY_COMPACT_RETRY_MS.
      this.nextCompactAt = Date.now() + HISTORY_COMPACT_RETRY_MS;
      this.compactFailing = true;
      this.failed(error);
      this.scheduleRetry(HISTORY_COMPACT_RETRY_MS);
      return;
    }
    this.compactFailing = false;
    const old = this.fh;
    this.fh = null;
    await old?.close().catch(() => {});
    this.fileSize = data.length;
    this.prefixNewline = false;
    try {
      await this.handle();
    } catch (error) {
      this.failed(error);
    }
  }

  /** A waiter can be answered: all its records are on disk, or the writer tried them and failed. */
  private settleable(w: FlushWaiter): boolean {
    return w.target <= this.writtenSeq() || (this.writeFailing && w.target <= this.attemptedSeq);
  }

  /** Every record up to this sequence number is on disk (or was dropped, which is reported). */
  private writtenSeq(): number {
    return this.appendedSeq - this.pending.length - this.inFlight;
  }

  private async settleWaiters(): Promise<void> {
    const ready = this.waiters.filter((w) => this.settleable(w));
    this.waiters = this.waiters.filter((w) => !this.settleable(w));
    const written = this.writtenSeq();
    let syncError: Error | null = null;
    if (ready.some((w) => w.target <= written)) {
      try {
        await (await this.handle()).sync();
      } catch (error) {
        syncError = asError(error);
        this.failed(syncError);
      }
    }
    for (const w of ready) {
      if (w.target > written)
        w.reject(this.trouble?.firstError ?? new Error("history lines not yet written"));
      else if (syncError) w.reject(syncError);
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

  private scheduleRetry(ms: number): void {
    if (this.closed) return;
    this.cancelRetry();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryDue = true;
      this.kick();
    }, ms);
    this.retryTimer.unref();
  }

  private cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** An I/O failure: the first of an episode is reported, the rest only keep the episode open. */
  private failed(error: unknown): void {
    this.enterTrouble(asError(error));
  }

  private enterTrouble(error: Error): Trouble {
    if (!this.trouble) {
      this.trouble = {
        since: Date.now(),
        firstError: error,
        writtenLate: 0,
        dropped: 0,
        droppedReported: false,
      };
      this.report(error);
    }
    return this.trouble;
  }

  /** The episode ends when nothing is left unwritten and the file can be compacted again. */
  private checkRecovered(): void {
    const t = this.trouble;
    if (!t || this.pending.length > 0 || this.inFlight > 0 || this.writeFailing || this.compactFailing)
      return;
    this.trouble = null;
    this.cancelRetry();
    try {
      this.onRecovered({ writtenLate: t.writtenLate, dropped: t.dropped, troubleMs: Date.now() - t.since });
    } catch {
      // a throwing reporter must not stop the writer
    }
  }

  private report(error: Error): void {
    try {
      this.onError(error);
    } catch {
      // a throwing reporter must not stop the writer
    }
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

interface Loaded {
  /** oldest first */
  records: HistoryEntry[];
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
  const newestFirst: HistoryEntry[] = [];
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

/** recordLine is a record as the file holds it: one JSON object a line, `a: 1` marking a /me action. */
function recordLine(r: HistoryEntry): string {
  return `${JSON.stringify(r.action ? { t: r.time, n: r.name, x: r.text, a: 1 } : { t: r.time, n: r.name, x: r.text })}\n`;
}

function parseLine(line: string): HistoryEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { t, n, x, a } = value as { t?: unknown; n?: unknown; x?: unknown; a?: unknown };
  if (typeof t !== "number" || !Number.isFinite(t) || typeof n !== "string" || typeof x !== "string") {
    return null;
  }
  return Object.freeze(a === 1 ? { time: t, name: n, text: x, action: true } : { time: t, name: n, text: x });
}

function tempName(file: string): string {
  return `${file}.compact.tmp`;
}
