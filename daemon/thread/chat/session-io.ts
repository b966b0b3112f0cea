import type net from "node:net";
import { errorLine, lineTooLong } from "../../../protocol/chat-lines.ts";
import { LineFramer } from "../../../protocol/line-framer.ts";
import { TelnetFilter } from "../../../protocol/telnet.ts";
import { decodeUtf8 } from "../../../protocol/text.ts";
import { MAX_QUEUED_LINES, SESSION_CLOSE_GRACE_MS } from "../../shared/limits.ts";
import { threadCounters } from "../metrics.ts";
import type { ThreadLog } from "../service.ts";

/** What one typed line is for: the answer to a prompt, or (signed in) chat. */
export type Answer = (text: string) => Promise<void> | void;

/** How a dialogue talks to its user: lines out, and prompts whose answer goes to a function. */
export interface Prompter {
  send(data: string): void;
  /**
   * Sends the prompt and hands the next line to answer. secret: a password is typed, so a telnet
   * client is asked to stop echoing it until the line comes.
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
}

/**
 * SessionIO is a chat connection's bytes: telnet filtered out, lines framed and handled one at
 * a time in order (each by the prompt waiting for it, else onLine), output written through
 * send(), which enforces the output limit so a client that does not read cannot make the server
 * buffer without bound, and the close, at once or once an account being written is settled.
 */
export class SessionIO implements Prompter {
  readonly address: string;
  private readonly socket: net.Socket;
  private readonly opts: SessionIOOptions;
  private readonly telnet = new TelnetFilter();
  private readonly framer: LineFramer;
  private readonly queue: Uint8Array[] = [];
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
    this.framer = new LineFramer(opts.limits.maxLine, { emitEmpty: true });
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A session closed on purpose (quit, kick) keeps that reason for the log.
      if (!this.closedNow) this.endReason = error.code ?? error.message;
    });
    socket.on("close", () => {
      this.closedNow = true;
      this.queue.length = 0;
      this.opts.onClose(this.endReason);
    });
  }

  get closed(): boolean {
    return this.closedNow;
  }

  /** Writes to the client, closing the connection once it has more than the output limit queued. */
  send(data: string | Buffer): void {
    if (this.closedNow || this.socket.destroyed) return;
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
    this.send(prompt);
    if (secret) this.hideTyping(true);
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
    this.framer.maxLine = this.opts.limits.maxLine;
    this.framer.push(
      data,
      (line) => {
        // The framer may hand out a view of the chunk; queued lines must own their bytes.
        this.queue.push(this.busy ? line.slice() : line);
      },
      () => this.send(lineTooLong(this.opts.limits.maxLine)),
    );
    if (this.queue.length > MAX_QUEUED_LINES) this.socket.pause();
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.closedNow) {
        const line = this.queue.shift()!;
        await this.handle(decodeUtf8(line));
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
    if (this.socket.isPaused() && !this.closedNow) this.socket.resume();
  }

  private handle(text: string): Promise<void> | void {
    if (this.secret) {
      this.secret = false;
      this.hideTyping(false);
    }
    const answer = this.answer;
    this.answer = null;
    return (answer ?? this.opts.onLine)(text);
  }

  /** Asks a telnet client to let the server echo (so nothing is shown) while a password is typed. */
  private hideTyping(hide: boolean): void {
    if (!this.telnet.negotiated) return;
    const bytes = hide ? this.telnet.willEcho() : this.telnet.wontEcho();
    if (bytes.length > 0) this.writeRaw(bytes);
    if (!hide) this.send("\r\n");
  }

  /** Telnet negotiation: not counted against the output limit, and never written to a closed connection. */
  private writeRaw(bytes: Uint8Array): void {
    if (this.closedNow || this.socket.destroyed) return;
    this.socket.write(bytes);
  }
}
