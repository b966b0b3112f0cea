import { connectionLog } from "../connection-ids.ts";
import type net from "node:net";
import { parseInput } from "../../../protocol/chat-input.ts";
import {
  errorLine,
  historyLine,
  historyOmitted,
  SIGN_IN_UNAVAILABLE,
  unknownCommand,
} from "../../../protocol/chat-lines.ts";
import { nameKey } from "../../../protocol/names.ts";
import type { HistoryEntry, JoinReply } from "../../../protocol/hub-messages.ts";
import { sanitize } from "../../../protocol/text.ts";
import type { AccountStore } from "../../shared/account-store.ts";
import { MAX_SIGN_IN_FAILURES } from "../../shared/limits.ts";
import type { HubLink } from "../hub-link.ts";
import { threadCounters } from "../metrics.ts";
import type { ThreadLog } from "../service.ts";
import { type CommandSession, findCommand } from "./commands.ts";
import { faultWarnings } from "./fault-warnings.ts";
import { SessionIO } from "./session-io.ts";
import { SignInDialogue } from "./sign-in.ts";

/** The limits a session enforces, all from the daemon's options. */
export interface SessionLimits {
  maxLine: number;
  loginTimeoutMs: number;
  floodBurst: number;
  floodRate: number;
  /** Lines that may wait beyond the burst (--flood-queue); absent: the default. */
  floodQueue?: number;
  outputLimit: number;
}

/** What a session needs from the thread that hosts it. */
export interface SessionHost {
  hub: HubLink;
  identities: AccountStore;
  limits: SessionLimits;
  log: ThreadLog;
  /**
   * Called as the hub's join reply is read, before any later hub message: the host sends the
   * replay and the online line, then lets live lines through, so none comes before or twice.
   */
  joined(session: ChatSession, reply: JoinReply): void;
  /** The session's ignore list changed: the host filters its lines from now on (or stops). */
  ignoresChanged(session: ChatSession): void;
  ended(session: ChatSession): void;
  /** Writes the lines the thread has batched, now: called before a session writes anything else. */
  flushPending: () => void;
}

/**
 * ChatSession is one chat connection: its bytes (SessionIO), the sign-in dialogue until the
 * user is in, then chat lines and /commands from the command table (flood-controlled by its
 * SessionIO from the sign-in on); and
 * its place in the hub, which is told exactly once that the session ended.
 */
export class ChatSession implements CommandSession {
  readonly sid: string;
  readonly io: SessionIO;
  readonly hub: HubLink;
  readonly identities: AccountStore;
  readonly log: ThreadLog;
  name: string | null = null;
  key: string | null = null;
  /** Whoever last sent this session a private message it was shown (/reply's target). */
  replyTo: string | null = null;
  /** The accounts this user ignores: key -> name as typed into /ignore (the account's list). */
  readonly ignores = new Map<string, string>();
  private readonly host: SessionHost;
  private readonly signInDialogue: SignInDialogue;
  private loginTimer: NodeJS.Timeout | null;
  /** The hub already knows this session ended (it said so before its last line). */
  private leftHub = false;
  /** Joins the hub could not take on this connection (a cluster's Redis away): bounded, as wrong passwords are. */
  private joinRefusals = 0;

  constructor(sid: string, socket: net.Socket, host: SessionHost) {
    this.sid = sid;
    this.host = host;
    this.hub = host.hub;
    this.identities = host.identities;
    // Every line about this connection carries its id, address and port (connection-ids.ts).
    this.log = connectionLog(host.log, {
      conn: sid,
      address: socket.remoteAddress ?? "unknown",
      port: socket.remotePort ?? null,
    });
    this.io = new SessionIO(socket, {
      limits: host.limits,
      log: this.log,
      onLine: (text) => this.onChat(text),
      onClose: (reason) => this.onClose(reason),
      name: () => this.name,
      beforeWrite: host.flushPending,
    });
    this.loginTimer = this.loginTimeout();
    this.signInDialogue = new SignInDialogue(this);
  }

  get address(): string {
    return this.io.address;
  }

  start(): Promise<void> {
    return this.signInDialogue.start();
  }

  /** Writes to the client, closing the connection once it has more than the output limit queued. */
  send(data: string | Buffer): void {
    this.io.send(data);
  }

  /** Writes the thread's batched lines for this session (ChatService's flush). */
  deliver(data: Buffer): void {
    this.io.deliver(data);
  }

  /** Sends a last line and closes; the reason goes to the log. */
  close(reason: string, lastLine?: string): void {
    this.io.close(reason, lastLine);
  }

  /** Closes at once, or, while an account is being written, as soon as the user has heard of it. */
  closeSoon(reason: string, lastLine: string, graceMs?: number): void {
    this.io.closeSoon(reason, lastLine, graceMs);
  }

  async leave(reason: string, lastLine: string, leaveReason?: string): Promise<void> {
    this.leftHub = true;
    await this.hub.request({ k: "leave", sid: this.sid, reason: leaveReason });
    this.close(reason, lastLine);
  }

  /**
   * The sign-in dialogue is done: join the chat; the host sends the replay as the hub answers,
   * after greeting when the join is taken.
   */
  async signIn(name: string, key: string, greeting?: string): Promise<void> {
    if (this.io.closed) return;
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = null;
    // The account's ignore list, before the join, so the first live line is already filtered.
    const identity = await this.identities.get(key).catch(() => undefined);
    if (this.io.closed) return;
    this.setIgnores(identity?.ignores ?? []);
    this.name = name;
    this.key = key;
    // The limits object itself, read at each line: a config.set reaches users already signed in.
    this.io.startFloodControl(this.host.limits);
    const joined = await this.hub.request(
      { k: "join", sid: this.sid, key, name, address: this.address },
      (reply) => {
        if (reply.refused === undefined && greeting !== undefined) this.io.send(greeting);
        this.host.joined(this, reply);
      },
    );
    // Refused: the host has closed the session (a ban) or asked for the name again; no sign-in to record.
    if (joined.refused !== undefined) return;
    this.identities.recordLogin(key, this.address).catch((error: Error) => {
      faultWarnings.warn(this.log, "could not record the sign-in in the identity file", {}, error);
    });
  }

  /**
   * The hub refused the join. A ban closes the session; a cluster whose Redis is away cannot take
   * the sign-in now: the user is told so and asked for a name again, on the same connection; at
   * the MAX_SIGN_IN_FAILURES-th such refusal the connection is closed with it.
   */
  joinRefused(line: string): void {
    if (line !== SIGN_IN_UNAVAILABLE) {
      this.close("banned", line);
      return;
    }
    // Each try costs a password check: a connection gets as many as it gets wrong passwords.
    if (++this.joinRefusals >= MAX_SIGN_IN_FAILURES) {
      this.close("sign-in not possible now", line);
      return;
    }
    this.name = null;
    this.key = null;
    this.ignores.clear();
    this.loginTimer = this.loginTimeout();
    this.signInDialogue.askAgain(line);
  }

  /** A sign-in not done within the login timeout closes the connection. */
  private loginTimeout(): NodeJS.Timeout {
    return setTimeout(
      () => this.close("sign-in timeout", errorLine("sign-in timed out")),
      this.host.limits.loginTimeoutMs,
    );
  }

  /** Replaces the ignore list (names, from the account) and tells the host. */
  setIgnores(names: readonly string[]): void {
    this.ignores.clear();
    for (const name of names) this.ignores.set(nameKey(name), name);
    this.host.ignoresChanged(this);
  }

  /** Whether lines from the account of this key are hidden from this user. */
  isIgnoring(key: string): boolean {
    return this.ignores.size > 0 && this.ignores.has(key);
  }

  /** The replay after sign-in and the answer to /history, without ignored users' lines; records left out for size are counted. */
  sendHistory(records: readonly HistoryEntry[], omitted: number): void {
    const shown =
      this.ignores.size === 0 ? records : records.filter((r) => !this.isIgnoring(nameKey(r.name)));
    const lines = shown.map((r) => historyLine(r.time, r.name, r.text, r.action));
    if (omitted > 0) lines.unshift(historyOmitted(omitted));
    if (lines.length > 0) this.send(lines.join(""));
  }

  /** A line typed when no prompt waits for one: chat or a command, once signed in. */
  private async onChat(typed: string): Promise<void> {
    if (this.name === null) return;
    if (typed.trim() === "") return;
    const text = sanitize(typed);
    if (text.trim() === "") return;
    const input = parseInput(text);
    if (input.kind === "message") {
      threadCounters.messagesIn++;
      this.hub.send({ k: "say", sid: this.sid, text: input.text });
      return;
    }
    const command = findCommand(input.name);
    if (!command) {
      this.send(unknownCommand(input.name));
      return;
    }
    await command.run(this, input.args);
  }

  private onClose(reason: string): void {
    if (this.loginTimer) clearTimeout(this.loginTimer);
    if (!this.leftHub) this.hub.send({ k: "leave", sid: this.sid });
    this.log("info", "disconnect", { name: this.name, reason });
    this.host.ended(this);
  }
}
