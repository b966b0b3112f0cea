import fs from "node:fs";
import TransportStream from "winston-transport";

type Callback = () => void;
interface Info {
  [key: symbol]: unknown;
}
const MESSAGE = Symbol.for("message");

/**
 * LogFileTransport appends formatted records to one file and supports what operators need
 * of it: reopen (logrotate moved the file), clear (truncate in place, logging goes on) and a
 * flush on exit. If the file cannot be written the daemon keeps serving: the transport
 * reports the failure once through onFailure and then drops records.
 */
export class LogFileTransport extends TransportStream {
  readonly filename: string;
  private stream: fs.WriteStream | null = null;
  private failed = false;
  private readonly onFailure: (error: Error) => void;

  constructor(filename: string, onFailure: (error: Error) => void, level?: string) {
    super({ level });
    this.filename = filename;
    this.onFailure = onFailure;
    this.open();
  }

  override log(info: Info, callback: Callback): void {
    const stream = this.stream;
    if (stream && !this.failed) stream.write(`${String(info[MESSAGE])}\n`);
    callback();
  }

  reopen(): void {
    const old = this.stream;
    this.failed = false;
    this.open();
    old?.end();
  }

  /** Empties the file; returns how many bytes it held. */
  clear(): number {
    let bytes = 0;
    try {
      bytes = fs.statSync(this.filename).size;
      fs.truncateSync(this.filename, 0);
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

  private open(): void {
    const stream = fs.createWriteStream(this.filename, { flags: "a", mode: 0o640 });
    stream.on("error", (error) => this.fail(error));
    this.stream = stream;
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.onFailure(error);
  }
}
