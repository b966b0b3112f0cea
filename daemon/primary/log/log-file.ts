import fs from "node:fs";
import TransportStream from "winston-transport";
import { LOG_MAX_PENDING_BYTES } from "../../shared/limits.ts";

type Callback = () => void;
interface Info {
  [key: symbol]: unknown;
}
const MESSAGE = Symbol.for("message");

export interface LogFileOptions {
  /** Rotate when the file passes this size (0: never; logrotate and SIGHUP are the other way). */
  maxBytes: number;
  /** Rotated files kept: tsd.log.1 ... tsd.log.N. */
  keep: number;
  onFailure: (error: Error) => void;
  /**
   * Records were left out because the file could not keep up (more than maxPendingBytes were
   * waiting for it): called with how many once it has caught up, so the log says so in place.
   */
  onDropped: (dropped: number) => void;
  /** Bytes waiting for the file past which records are left out (LOG_MAX_PENDING_BYTES). */
  maxPendingBytes?: number;
}

/**
 * LogFileTransport appends formatted records to one file and supports what operators need
 * of it: reopen (logrotate moved the file), clear (truncate in place, logging goes on),
 * size-based rotation, and a flush on exit. If the file cannot be written the daemon keeps
 * serving: the transport reports the failure once through onFailure and drops records. If it
 * is only slow, records past maxPendingBytes are left out and counted, and onDropped reports
 * the count when the file has caught up.
 */
export class LogFileTransport extends TransportStream {
  readonly filename: string;
  private stream: fs.WriteStream | null = null;
  private failed = false;
  private size = 0;
  private dropped = 0;
  private readonly opts: LogFileOptions;
  private readonly maxPendingBytes: number;

  constructor(filename: string, opts: LogFileOptions) {
    super();
    this.filename = filename;
    this.opts = opts;
    this.maxPendingBytes = opts.maxPendingBytes ?? LOG_MAX_PENDING_BYTES;
    this.open();
  }

  override log(info: Info, callback: Callback): void {
    const stream = this.stream;
    if (stream && !this.failed) {
      if (stream.writableLength > this.maxPendingBytes) {
        if (this.dropped++ === 0) stream.once("drain", () => this.reportDropped());
      } else {
        const line = `${String(info[MESSAGE])}\n`;
        stream.write(line);
        this.size += Buffer.byteLength(line);
        if (this.opts.maxBytes > 0 && this.size > this.opts.maxBytes) this.rotate();
      }
    }
    callback();
  }

  reopen(): void {
    const old = this.stream;
    this.failed = false;
    this.open();
    old?.end();
    // An ending stream never drains: the count of an episode cut short by the reopen is reported now.
    this.reportDropped();
  }

  /** Empties the file; returns how many bytes it held. */
  clear(): number {
    let bytes = 0;
    try {
      bytes = fs.statSync(this.filename).size;
      fs.truncateSync(this.filename, 0);
      this.size = 0;
    } catch (error) {
      this.fail(error as Error);
    }
    return bytes;
  }

  flush(): Promise<void> {
    const stream = this.stream;
    if (!stream || stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => stream.end(resolve));
  }

  private rotate(): void {
    try {
      for (let i = this.opts.keep - 1; i >= 1; i--) {
        if (fs.existsSync(`${this.filename}.${i}`))
          fs.renameSync(`${this.filename}.${i}`, `${this.filename}.${i + 1}`);
      }
      if (this.opts.keep > 0) fs.renameSync(this.filename, `${this.filename}.1`);
      else fs.rmSync(this.filename, { force: true });
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.reopen();
  }

  private open(): void {
    try {
      this.size = fs.statSync(this.filename).size;
    } catch {
      this.size = 0;
    }
    // A high-water mark under the drop bound, so a stream that drops records always drains.
    const highWaterMark = Math.min(this.maxPendingBytes, 64 * 1024);
    const stream = fs.createWriteStream(this.filename, { flags: "a", mode: 0o640, highWaterMark });
    stream.on("error", (error) => this.fail(error));
    this.stream = stream;
  }

  private reportDropped(): void {
    const dropped = this.dropped;
    if (dropped === 0) return;
    this.dropped = 0;
    this.opts.onDropped(dropped);
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.opts.onFailure(error);
  }
}
