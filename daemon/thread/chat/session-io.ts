import type net from "node:net";
import { CRLF, errorLine, lineTooLong, notice, slowDown } from "../../../protocol/chat-lines.ts";
import { type FloodLimits, FloodQueue } from "../../../protocol/flood.ts";
import { LineFramer } from "../../../protocol/line-framer.ts";
import { TelnetFilter } from "../../../protocol/telnet.ts";
import { decodeUtf8 } from "../../../protocol/text.ts";
import { FLOOD_QUEUE_MAX_BYTES, MAX_QUEUED_LINES, SESSION_CLOSE_GRACE_MS } from "../../shared/limits.ts";
import { threadCounters } from "../metrics.ts";
import type { ThreadLog } from "../service.ts";

/** What one typed line is for: the answer to a prompt, or (signed in) chat. */
export type Answer = (text: string) => Promise<void> | void;

/** How a dialogue talks to its user: lines out, and prompts whose answer goes to a function. */
export interface Prompter {
  send(data: string): void;
  /**
   * Sends the prompt and hands the next line to answer. secret: a password is typed, so the
   * client is offered IAC WILL ECHO with the prompt (a telnet client then stops echoing) and
   * given its echo back (IAC WONT ECHO) once no password prompt follows the answer.
   */
  ask(prompt: string, answer: Answer, secret?: boolean): void;
}

export interface SessionIOOptions {
  /** Read at each use, not copied: config.set changes them for sessions already open. */
  limits: { readonly maxLine: number; readonly outputLimit: number };
  log: ThreadLog;
  /** Where a line goes when no prompt is waiting for it. */
  onLine: Answer;
  /** The connection has closed; reason says why, for the log. */
  onClose: (reason: string) => void;
  /** The user's name for the log, once known. */
  name: () => string | null;
  /**
   * Runs before anything but the thread's batch is written to a session that gets the batch
   * (batched): those lines go out first, so a reply never overtakes a line the hub sent before it.
   */
  beforeWrite: () => void;
}

/** The answer to telnet's IAC AYT ("are you there?"), at most one per read. */
const ARE_YOU_THERE = notice("yes, the server is here");

/** In the line queue: a line that was too long, told in its turn (the prompt it interrupted is shown again). */
const TOO_LONG = null;
type Queued = Uint8Array | typeof TOO_LONG;

/**
 * SessionIO is a chat connection's bytes: telnet filtered out, lines framed (BS, DEL and Ctrl-U
 * edit the line being typed) and handled one at a time in order (each by the prompt waiting for
 * it, else onLine), once signed in at the flood rate (flood control), output written through
 * send(), which enforces the output limit so a client that does not read cannot make the server
 * buffer without bound, and the close, at once or once an account being written is settled.
 */
export class SessionIO implements Prompter {
  readonly address: string;
  /** Signed in: the thread's batched lines reach this session (deliver), so its other writes wait for them. */
  batched = false;
  private readonly socket: net.Socket;
  private readonly opts: SessionIOOptions;
  private readonly telnet = new TelnetFilter();
  private readonly framer: LineFramer;
  private readonly queue: Queued[] = [];
  /** Bytes of the lines in queue. */
  private queuedBytes = 0;
  /** Once signed in: lines beyond the burst wait their turn here, beyond the queue they are dropped. */
  private flood: FloodQueue | null = null;
  /** Set while the head of the queue waits for its flood token, or a drop count for its second. */
  private floodTimer: NodeJS.Timeout | null = null;
  private reportTimer: NodeJS.Timeout | null = null;
  /** The prompt last sent, while nothing has been sent after it and it is not answered: an error shows it again. */
  private openPrompt: string | null = null;
  /** The first prompt is out (after the greeting): what was typed before it is handled after it, in order. */
  private prompted = false;
  private busy = false;
  private closedNow = false;
  private endReason = "connection closed";
  private answer: Answer | null = null;
  /** The waiting prompt is a password's: the client's echo was turned off for it. */
  private secret = false;
  /** Registering: the account may be written, so a shutdown waits for the user to hear of it. */
  private committing = false;
  private closeWhenIdle: { reason: string; lastLine: string; graceMs: number } | null = null;

  constructor(socket: net.Socket, opts: SessionIOOptions) {
    this.socket = socket;
    this.opts = opts;
    this.address = socket.remoteAddress ?? "unknown";
    this.framer = new LineFramer(opts.limits.maxLine, { emitEmpty: true, lineEditing: true });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A session closed on purpose (quit, kick) keeps that reason for the log.
      if (!this.closedNow) this.endReason = error.code ?? error.message;
    });
    socket.on("close", () => {
      this.closedNow = true;
      this.queue.length = 0;
      this.queuedBytes = 0;
      if (this.floodTimer) clearTimeout(this.floodTimer);
      if (this.reportTimer) clearTimeout(this.reportTimer);
      this.opts.onClose(this.endReason);
    });
  }

  get closed(): boolean {
    return this.closedNow;
  }

  /** Writes to the client, closing the connection once it has more than the output limit queued. */
  send(data: string | Buffer): void {
    if (this.closedNow || this.socket.destroyed) return;
    this.openPrompt = null;
    this.write(data);
  }

  /** Writes the thread's batched lines for this session: as send, without flushing the batch first. */
  deliver(data: Buffer): void {
    if (this.closedNow || this.socket.destroyed) return;
    this.openPrompt = null;
    this.put(data);
  }

  private write(data: string | Uint8Array): void {
    if (this.batched) this.opts.beforeWrite();
    this.put(data);
  }

  /** Writes, and cuts the client off once more than the output limit waits for it to read. */
  private put(data: string | Uint8Array): void {
    this.socket.write(data);
    if (this.socket.writableLength > this.opts.limits.outputLimit) {
      this.opts.log("warn", "output limit reached; disconnecting a client that does not read", {
        address: this.address,
        name: this.opts.name(),
        queued: this.socket.writableLength,
      });
      this.endReason = "output limit";
      threadCounters.outputLimitDisconnects++;
      this.closedNow = true;
      this.socket.destroy();
    }
  }

  ask(prompt: string, answer: Answer, secret = false): void {
    this.expect(answer, secret);
    if (!secret) this.showTyping();
    this.prompt(prompt, secret ? this.telnet.willEcho() : undefined);
  }

  /**
   * Sends a prompt, which stays open until answered or followed by other output. A telnet
   * offer goes first, in the same write, so the prompt still ends with ": " and the client has
   * stopped echoing by the time it shows the prompt.
   */
  prompt(text: string, offer?: Uint8Array): void {
    this.send(offer && offer.length > 0 ? Buffer.concat([offer, Buffer.from(text)]) : text);
    this.openPrompt = text;
    if (!this.prompted) {
      this.prompted = true;
      void this.drain();
    }
  }

  /**
   * From now on (signed in) lines are flood controlled: a burst, then the rate, the lines beyond
   * waiting in order up to the queue's bound; limits is read at each line.
   */
  startFloodControl(limits: FloodLimits): void {
    this.flood = new FloodQueue(limits, FLOOD_QUEUE_MAX_BYTES);
  }

  /** Hands the next line to answer, without a prompt (the first one is sent with the greeting). */
  expect(answer: Answer, secret = false): void {
    this.answer = answer;
    this.secret = secret;
  }

  /**
   * Sends a last line and closes; the reason goes to the log. A client that does not close its
   * end is cut off after graceMs (a stop's grace: what the operator gave clients to go).
   */
  close(reason: string, lastLine?: string, graceMs = SESSION_CLOSE_GRACE_MS): void {
    if (this.closedNow) return;
    if (lastLine) this.send(lastLine);
    this.endReason = reason;
    this.closedNow = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), graceMs).unref();
  }

  /** Closes at once, or, while an account is being written, as soon as the user has heard of it. */
  closeSoon(reason: string, lastLine: string, graceMs = SESSION_CLOSE_GRACE_MS): void {
    if (this.committing) this.closeWhenIdle = { reason, lastLine, graceMs };
    else this.close(reason, lastLine, graceMs);
  }

  /** Runs work that writes an account: a closeSoon meanwhile waits until the queued lines are handled. */
  async commit(work: () => Promise<void>): Promise<void> {
    this.committing = true;
    try {
      await work();
    } finally {
      this.committing = false;
    }
  }

  private onData(chunk: Buffer): void {
    const data = this.telnet.push(chunk);
    const replies = this.telnet.takeReplies();
    if (replies) this.writeRaw(replies);
    // telnet's `send ayt`: a sign of life on a line of its own (the open prompt shown again).
    if (this.telnet.takeAreYouThere() && !this.closedNow) this.sendError(ARE_YOU_THERE);
    this.framer.maxLine = this.opts.limits.maxLine;
    const now = Date.now();
    this.framer.push(
      data,
      // The framer may hand out a view of the chunk; a line that may wait (a slow answer, the
      // greeting, its flood token) owns its bytes, so the queue's byte bound holds.
      (line) => this.enqueue(this.busy || this.flood || !this.prompted ? line.slice() : line, now),
      () => this.enqueue(TOO_LONG, now),
    );
    this.reportDrops();
    // Lines waiting for a slow answer or for their flood token: stop reading until they are
    // handled, so neither this queue nor the socket's buffer grows without bound.
    if (this.queue.length > MAX_QUEUED_LINES || this.flood?.holding(now, this.queue.length))
      this.socket.pause();
    void this.drain();
  }

  /** Queues a line (or a too-long mark); once flood control is on, one beyond the queue's bound is dropped and counted. */
  private enqueue(item: Queued, now: number): void {
    const bytes = item === TOO_LONG ? 0 : item.length;
    if (this.flood && !this.flood.admit(now, this.queue.length, this.queuedBytes, bytes)) {
      threadCounters.floodDrops++;
      return;
    }
    this.queue.push(item);
    this.queuedBytes += bytes;
  }

  /** Tells the user how many lines were dropped, at most once a second; a count held back goes out when its second is up. */
  private reportDrops(): void {
    const flood = this.flood;
    if (!flood || this.closedNow) return;
    const now = Date.now();
    const n = flood.takeReport(now);
    if (n > 0) this.sendError(slowDown(n));
    const due = flood.reportDueMs(now);
    if (due !== null && this.reportTimer === null) {
      this.reportTimer = setTimeout(() => {
        this.reportTimer = null;
        this.reportDrops();
      }, due);
    }
  }

  private async drain(): Promise<void> {
    if (this.busy || this.floodTimer || !this.prompted) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.closedNow) {
        const item = this.queue[0]!;
        // An empty line (an Enter alone) delivers nothing, so it spends no token.
        if (item !== TOO_LONG && item.length > 0 && this.flood) {
          const wait = this.flood.next(Date.now());
          if (wait > 0) {
            this.floodTimer = setTimeout(() => {
              this.floodTimer = null;
              void this.drain();
            }, wait);
            break;
          }
        }
        this.queue.shift();
        if (item === TOO_LONG) {
          this.tooLong();
          continue;
        }
        this.queuedBytes -= item.length;
        await this.handle(decodeUtf8(item));
        // No password prompt followed the answer: the client echoes again.
        if (!this.secret) this.showTyping();
      }
    } catch (error) {
      this.opts.log("error", "chat session failed", {
        address: this.address,
        error: String((error as Error).stack ?? error),
      });
      this.close("server error", errorLine("server error, sorry; please reconnect"));
    } finally {
      this.queue.length = this.closedNow ? 0 : this.queue.length;
      this.busy = false;
      if (this.closeWhenIdle) {
        const { reason, lastLine, graceMs } = this.closeWhenIdle;
        this.close(reason, lastLine, graceMs);
      }
    }
    if (this.queue.length === 0 && this.socket.isPaused() && !this.closedNow) this.socket.resume();
  }

  /**
   * A line over --max-line, in its turn: the error goes on a line of its own, and a prompt it
   * interrupted is shown again (piped input would otherwise show `login: ! line too long`).
   */
  private tooLong(): void {
    this.sendError(lineTooLong(this.opts.limits.maxLine));
  }

  /** Sends an error line; when a prompt is open, on a line of its own, and the prompt again after it. */
  private sendError(line: string): void {
    const open = this.openPrompt;
    if (open === null) {
      this.send(line);
      return;
    }
    this.send(CRLF + line + open);
    this.openPrompt = open;
  }

  private handle(text: string): Promise<void> | void {
    this.openPrompt = null;
    if (this.secret) {
      this.secret = false;
      // The client did not echo the Enter either: move its cursor to the next line.
      if (this.telnet.echoing) this.send(CRLF);
    }
    const answer = this.answer;
    this.answer = null;
    return (answer ?? this.opts.onLine)(text);
  }

  /**
   * Gives a telnet client its local echo back (IAC WONT ECHO) after password typing; nothing when
   * echo is off, or for a client that never answered the offer (a raw client sees no more bytes).
   */
  private showTyping(): void {
    const bytes = this.telnet.wontEcho();
    if (bytes.length > 0) this.writeRaw(bytes);
  }

  /**
   * Telnet negotiation: it leaves an open prompt open, and is never written to a closed
   * connection. It counts against the output limit like any output: a client that sends option
   * requests (DO/DONT SGA, DO TIMING-MARK, each answered) and never reads must not make the
   * server buffer the answers without bound.
   */
  private writeRaw(bytes: Uint8Array): void {
    if (this.closedNow || this.socket.destroyed) return;
    this.write(bytes);
  }
}
