import type net from "node:net";
import {
  type CommandName,
  HELP_LINES,
  isCommand,
  parseHistoryCount,
  parseInput,
  splitMsgArgs,
} from "../../../protocol/chat-input.ts";
import {
  ACCOUNT_NOT_SAVED,
  ACCOUNTS_UNAVAILABLE,
  BYE,
  END_OF_HISTORY,
  errorLine,
  greetingLine,
  historyLine,
  historyOmitted,
  lineTooLong,
  loginPrompt,
  NEW_PASSWORD_PROMPT,
  noSuchUser,
  notice,
  onlineLine,
  PASSWORD_CHANGED,
  PASSWORD_PROMPT,
  PASSWORDS_DIFFER,
  passwordTooShort,
  privateOut,
  REPEAT_PASSWORD_PROMPT,
  registered,
  signInsPaused,
  SLOW_DOWN,
  TOO_MANY_FAILURES,
  tooManyRegistrations,
  unknownCommand,
  WRONG_PASSWORD,
  welcomeBack,
} from "../../../protocol/chat-lines.ts";
import { OncePer, TokenBucket } from "../../../protocol/flood.ts";
import type { HistoryReply, JoinReply } from "../../../protocol/hub-messages.ts";
import { LineFramer } from "../../../protocol/line-framer.ts";
import { checkName, nameConflictReason } from "../../../protocol/names.ts";
import { TelnetFilter } from "../../../protocol/telnet.ts";
import { decodeUtf8, hasControlChars, sanitize } from "../../../protocol/text.ts";
import type { HubLink } from "../hub-link.ts";
import { type Identity, IdentityFileCorrupt, type IdentityStore } from "../../shared/identity-store.ts";
import { passwordLength } from "../../shared/password.ts";
import type { ThreadLog } from "../service.ts";
import {
  MIN_PASSWORD_LENGTH,
  MAX_SIGN_IN_FAILURES,
  MAX_QUEUED_LINES,
  SESSION_CLOSE_GRACE_MS,
} from "../../shared/limits.ts";

/** The limits a session enforces, all from the daemon's options. */
export interface SessionLimits {
  maxLine: number;
  loginTimeoutMs: number;
  floodBurst: number;
  floodRate: number;
  outputLimit: number;
}

/** What a session needs from the thread that hosts it. */
export interface SessionHost {
  hub: HubLink;
  identities: IdentityStore;
  limits: SessionLimits;
  log: ThreadLog;
  /**
   * Called as the hub's join reply is read, before any later hub message: the host sends the
   * replay and the online line, then lets live lines through, so none comes before or twice.
   */
  joined(session: ChatSession, reply: JoinReply): void;
  ended(session: ChatSession): void;
}

type Stage =
  | { kind: "login" }
  | { kind: "password"; name: string; key: string }
  | { kind: "new-password"; name: string; key: string }
  | { kind: "repeat-password"; name: string; key: string; password: string }
  | { kind: "chat" }
  | { kind: "passwd-old" }
  | { kind: "passwd-new" }
  | { kind: "passwd-repeat"; password: string }
  | { kind: "closed" };

const PASSWORD_STAGES = new Set([
  "password",
  "new-password",
  "repeat-password",
  "passwd-old",
  "passwd-new",
  "passwd-repeat",
]);

/**
 * ChatSession is one chat connection: the sign-in dialogue, then chat and commands. Input
 * is handled one line at a time, in order; output goes through send(), which enforces the
 * output limit so a client that does not read cannot make the server buffer without bound.
 */
export class ChatSession {
  readonly sid: string;
  readonly address: string;
  name: string | null = null;
  private key: string | null = null;
  private readonly socket: net.Socket;
  private readonly host: SessionHost;
  private readonly telnet = new TelnetFilter();
  private readonly framer: LineFramer;
  private readonly flood: TokenBucket;
  private readonly slowDown = new OncePer(1000);
  private stage: Stage = { kind: "login" };
  private remembered: string | undefined;
  private failures = 0;
  private readonly queue: Uint8Array[] = [];
  private busy = false;
  private loginTimer: NodeJS.Timeout | null;
  private endReason = "connection closed";
  /** The hub already knows this session ended (it said so before its last line). */
  private leftHub = false;
  /** Registering: the account may be written, so a shutdown waits for the user to hear of it. */
  private committing = false;
  private closeWhenIdle: { reason: string; lastLine: string } | null = null;

  constructor(sid: string, socket: net.Socket, host: SessionHost) {
    this.sid = sid;
    this.socket = socket;
    this.host = host;
    this.address = socket.remoteAddress ?? "unknown";
    this.framer = new LineFramer(host.limits.maxLine, { emitEmpty: true });
    this.flood = new TokenBucket(host.limits.floodBurst, host.limits.floodRate);
    this.loginTimer = setTimeout(
      () => this.close("sign-in timeout", errorLine("sign-in timed out")),
      host.limits.loginTimeoutMs,
    );
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.endReason = error.code ?? error.message;
    });
    socket.on("close", () => this.onClose());
  }

  async start(): Promise<void> {
    this.remembered = await this.host.identities.rememberedName(this.address).catch(() => undefined);
    this.send(greetingLine());
    this.send(loginPrompt(this.remembered));
  }

  /** Writes to the client, closing the connection once it has more than the output limit queued. */
  send(data: string | Buffer): void {
    if (this.stage.kind === "closed" || this.socket.destroyed) return;
    this.socket.write(data);
    if (this.socket.writableLength > this.host.limits.outputLimit) {
      this.host.log("warn", "output limit reached; disconnecting a client that does not read", {
        address: this.address,
        name: this.name,
        queued: this.socket.writableLength,
      });
      this.endReason = "output limit";
      this.stage = { kind: "closed" };
      this.socket.destroy();
    }
  }

  /** Sends a last line and closes; the reason goes to the log. */
  close(reason: string, lastLine?: string): void {
    if (this.stage.kind === "closed") return;
    if (lastLine) this.send(lastLine);
    this.endReason = reason;
    this.stage = { kind: "closed" };
    this.socket.end();
    setTimeout(() => this.socket.destroy(), SESSION_CLOSE_GRACE_MS).unref();
  }

  /** Closes at once, or, while an account is being written, as soon as the user has heard of it. */
  closeSoon(reason: string, lastLine: string): void {
    if (this.committing) this.closeWhenIdle = { reason, lastLine };
    else this.close(reason, lastLine);
  }

  /** Ends the session on purpose: offline for everyone first, then the last line. */
  private async leave(reason: string, lastLine: string, leaveReason?: string): Promise<void> {
    this.leftHub = true;
    await this.host.hub.request({ k: "leave", sid: this.sid, reason: leaveReason });
    this.close(reason, lastLine);
  }

  private onData(chunk: Buffer): void {
    const data = this.telnet.push(chunk);
    const replies = this.telnet.takeReplies();
    if (replies) this.socket.write(replies);
    this.framer.push(
      data,
      (line) => {
        // The framer may hand out a view of the chunk; queued lines must own their bytes.
        this.queue.push(this.busy ? line.slice() : line);
      },
      () => this.send(lineTooLong(this.host.limits.maxLine)),
    );
    if (this.queue.length > MAX_QUEUED_LINES) this.socket.pause();
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && this.stage.kind !== "closed") {
        const line = this.queue.shift()!;
        await this.handle(line);
      }
    } catch (error) {
      this.host.log("error", "chat session failed", {
        address: this.address,
        error: String((error as Error).stack ?? error),
      });
      this.close("server error", errorLine("server error, sorry; please reconnect"));
    } finally {
      this.queue.length = this.stage.kind === "closed" ? 0 : this.queue.length;
      this.busy = false;
      if (this.closeWhenIdle) this.close(this.closeWhenIdle.reason, this.closeWhenIdle.lastLine);
    }
    if (this.socket.isPaused() && this.stage.kind !== "closed") this.socket.resume();
  }

  private async handle(bytes: Uint8Array): Promise<void> {
    const text = decodeUtf8(bytes);
    const stage = this.stage;
    if (PASSWORD_STAGES.has(stage.kind)) this.hideTyping(false);
    switch (stage.kind) {
      case "login":
        return this.onLogin(text);
      case "password":
        return this.onPassword(stage.name, stage.key, text);
      case "new-password":
        return this.onNewPassword(stage.name, stage.key, text);
      case "repeat-password":
        this.committing = true;
        try {
          return await this.onRepeatPassword(stage.name, stage.key, stage.password, text);
        } finally {
          this.committing = false;
        }
      case "chat":
        return this.onChat(text);
      case "passwd-old":
        return this.onPasswdOld(text);
      case "passwd-new":
        return this.onPasswdNew(text);
      case "passwd-repeat":
        return this.onPasswdRepeat(stage.password, text);
      case "closed":
        return;
    }
  }

  private prompt(stage: Stage, text: string): void {
    this.stage = stage;
    this.send(text);
    if (PASSWORD_STAGES.has(stage.kind)) this.hideTyping(true);
  }

  /** Asks a telnet client to let the server echo (so nothing is shown) while a password is typed. */
  private hideTyping(hide: boolean): void {
    if (!this.telnet.negotiated) return;
    const bytes = hide ? this.telnet.willEcho() : this.telnet.wontEcho();
    if (bytes.length > 0) this.socket.write(bytes);
    if (!hide) this.send("\r\n");
  }

  private async onLogin(typed: string): Promise<void> {
    let raw = typed;
    if (raw === "") {
      if (!this.remembered) return this.prompt({ kind: "login" }, loginPrompt());
      raw = this.remembered;
    }
    if (hasControlChars(raw)) {
      this.send(errorLine("names cannot contain control characters"));
      return this.prompt({ kind: "login" }, loginPrompt(this.remembered));
    }
    const checked = checkName(raw);
    if (!checked.ok) {
      this.send(errorLine(checked.reason));
      return this.prompt({ kind: "login" }, loginPrompt(this.remembered));
    }
    let identity: Identity | undefined;
    try {
      identity = await this.host.identities.get(checked.key);
    } catch (error) {
      return this.accountsUnavailable(error);
    }
    if (identity)
      return this.prompt({ kind: "password", name: identity.name, key: checked.key }, PASSWORD_PROMPT);
    const conflict = await this.host.identities.nameConflict(checked.key, checked.skeletons);
    if (conflict) {
      this.send(errorLine(nameConflictReason(checked.name, conflict)));
      return this.prompt({ kind: "login" }, loginPrompt(this.remembered));
    }
    // Say so before the passwords are typed; the budget is spent only when the account is written.
    const budget = await this.host.hub.request({
      k: "registration",
      address: this.address,
      spend: false,
    });
    if (!budget.ok) {
      this.send(tooManyRegistrations(budget.retryAfterMs));
      return this.prompt({ kind: "login" }, loginPrompt(this.remembered));
    }
    const reserved = await this.host.hub.request({ k: "reserve", sid: this.sid, key: checked.key });
    if (!reserved.ok) {
      this.send(errorLine(`the name ${checked.name} is in use right now`));
      return this.prompt({ kind: "login" }, loginPrompt(this.remembered));
    }
    this.prompt({ kind: "new-password", name: checked.name, key: checked.key }, NEW_PASSWORD_PROMPT);
  }

  private async onPassword(name: string, key: string, password: string): Promise<void> {
    const lastAddress = (await this.host.identities.get(key).catch(() => undefined))?.lastAddress ?? null;
    const { delayMs, retryAfterMs } = await this.host.hub.request({
      k: "throttle",
      key,
      address: this.address,
      lastAddress,
    });
    if (retryAfterMs !== undefined) {
      this.host.log("info", "sign-in refused: too many failures from new addresses", {
        name,
        address: this.address,
        retryAfterMs,
      });
      return this.close("sign-ins to the account paused", signInsPaused(name, retryAfterMs));
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (this.stage.kind === "closed") return;
    let identity: Identity | null;
    try {
      identity = await this.host.identities.verify(key, password);
    } catch (error) {
      return this.accountsUnavailable(error);
    }
    if (identity) {
      this.send(welcomeBack(identity.name));
      return this.signIn(identity.name, key);
    }
    this.host.hub.send({ k: "failed", key, address: this.address });
    this.failures++;
    this.host.log("info", "failed sign-in", { name, address: this.address, failures: this.failures });
    if (this.failures >= MAX_SIGN_IN_FAILURES) return this.close("too many failures", TOO_MANY_FAILURES);
    this.send(WRONG_PASSWORD);
    this.prompt({ kind: "login" }, loginPrompt(this.remembered));
  }

  private onNewPassword(name: string, key: string, password: string): void {
    if (passwordLength(password) < MIN_PASSWORD_LENGTH) {
      this.send(passwordTooShort(MIN_PASSWORD_LENGTH));
      this.prompt({ kind: "new-password", name, key }, NEW_PASSWORD_PROMPT);
      return;
    }
    this.prompt({ kind: "repeat-password", name, key, password }, REPEAT_PASSWORD_PROMPT);
  }

  private async onRepeatPassword(
    name: string,
    key: string,
    password: string,
    repeated: string,
  ): Promise<void> {
    if (repeated !== password) {
      this.send(PASSWORDS_DIFFER);
      return this.prompt({ kind: "new-password", name, key }, NEW_PASSWORD_PROMPT);
    }
    const budget = await this.host.hub.request({
      k: "registration",
      address: this.address,
      spend: true,
    });
    if (!budget.ok) {
      this.host.log("info", "registration refused: too many from the network", {
        name,
        address: this.address,
      });
      return this.close("too many registrations", tooManyRegistrations(budget.retryAfterMs));
    }
    let outcome: "ok" | "taken";
    try {
      outcome = await this.host.identities.register(name, key, password, this.address);
    } catch (error) {
      if (error instanceof IdentityFileCorrupt) return this.accountsUnavailable(error);
      // Nothing was written (a full disk, an I/O error): no account, so never "* registered".
      this.host.log("error", "registration could not be written", {
        name,
        address: this.address,
        error: (error as Error).message,
      });
      this.send(ACCOUNT_NOT_SAVED);
      return this.prompt({ kind: "login" }, loginPrompt(this.remembered));
    }
    if (outcome === "taken") {
      this.send(errorLine(`the name ${name} was just taken; pick another`));
      return this.prompt({ kind: "login" }, loginPrompt(this.remembered));
    }
    this.host.log("info", "registered", { name, address: this.address });
    this.send(registered(name));
    return this.signIn(name, key);
  }

  /** The identity file cannot be used (corrupt, unreadable): say so and ask again; the operator hears once. */
  private accountsUnavailable(error: unknown): void {
    if (!(error instanceof IdentityFileCorrupt)) throw error;
    if (error.firstReport()) {
      this.host.log("error", "sign-ins refused: the identity file cannot be used", { error: error.message });
    }
    this.send(ACCOUNTS_UNAVAILABLE);
    this.prompt({ kind: "login" }, loginPrompt(this.remembered));
  }

  private async signIn(name: string, key: string): Promise<void> {
    if (this.stage.kind === "closed") return;
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.loginTimer = null;
    this.name = name;
    this.key = key;
    this.stage = { kind: "chat" };
    await this.host.hub.request({ k: "join", sid: this.sid, key, name, address: this.address }, (reply) =>
      this.host.joined(this, reply),
    );
    this.host.identities.recordLogin(key, this.address).catch((error: Error) => {
      this.host.log("warn", "could not record the sign-in in the identity file", { error: error.message });
    });
  }

  /** The replay after sign-in and the answer to /history; records left out for size are counted. */
  sendHistory(records: HistoryReply["records"], omitted: number): void {
    const lines = records.map((r) => historyLine(r.time, r.name, r.text));
    if (omitted > 0) lines.unshift(historyOmitted(omitted));
    if (lines.length > 0) this.send(lines.join(""));
  }

  private async onChat(typed: string): Promise<void> {
    if (typed.trim() === "") return;
    if (!this.flood.take(Date.now())) {
      if (this.slowDown.ready(Date.now())) this.send(SLOW_DOWN);
      return;
    }
    const text = sanitize(typed);
    if (text.trim() === "") return;
    const input = parseInput(text);
    if (input.kind === "message") {
      this.host.hub.send({ k: "say", sid: this.sid, text: input.text });
      return;
    }
    if (!isCommand(input.name)) {
      this.send(unknownCommand(input.name));
      return;
    }
    await this.command(input.name, input.args);
  }

  private async command(name: CommandName, args: string): Promise<void> {
    switch (name) {
      case "help":
        this.send(HELP_LINES.map(notice).join(""));
        return;
      case "who": {
        const { names } = await this.host.hub.request({ k: "who" });
        this.send(onlineLine(names));
        return;
      }
      case "history": {
        const n = parseHistoryCount(args);
        if (n === null) {
          this.send(errorLine("usage: /history [N], N from 0 to 500"));
          return;
        }
        const { records, omitted } = await this.host.hub.request({ k: "history", n });
        this.sendHistory(records, omitted);
        this.send(END_OF_HISTORY);
        return;
      }
      case "msg": {
        const parts = splitMsgArgs(args);
        if (!parts) {
          this.send(errorLine("usage: /msg NAME TEXT"));
          return;
        }
        const reply = await this.host.hub.request({
          k: "msg",
          sid: this.sid,
          to: parts.name,
          text: parts.text,
        });
        this.send(reply.ok ? privateOut(reply.name!, parts.text) : noSuchUser(parts.name));
        return;
      }
      case "me":
        if (args.trim() === "") {
          this.send(errorLine("usage: /me ACTION"));
          return;
        }
        this.host.hub.send({ k: "act", sid: this.sid, text: args });
        return;
      case "passwd":
        this.prompt({ kind: "passwd-old" }, PASSWORD_PROMPT);
        return;
      case "quit":
        return this.leave("quit", BYE, args.trim() || undefined);
    }
  }

  private async onPasswdOld(password: string): Promise<void> {
    const ok = (await this.host.identities.verify(this.key!, password)) !== null;
    if (!ok) {
      this.send(WRONG_PASSWORD);
      this.stage = { kind: "chat" };
      return;
    }
    this.prompt({ kind: "passwd-new" }, NEW_PASSWORD_PROMPT);
  }

  private onPasswdNew(password: string): void {
    if (passwordLength(password) < MIN_PASSWORD_LENGTH) {
      this.send(passwordTooShort(MIN_PASSWORD_LENGTH));
      this.prompt({ kind: "passwd-new" }, NEW_PASSWORD_PROMPT);
      return;
    }
    this.prompt({ kind: "passwd-repeat", password }, REPEAT_PASSWORD_PROMPT);
  }

  private async onPasswdRepeat(password: string, repeated: string): Promise<void> {
    if (repeated !== password) {
      this.send(PASSWORDS_DIFFER);
      return this.prompt({ kind: "passwd-new" }, NEW_PASSWORD_PROMPT);
    }
    const changed = await this.host.identities.setPassword(this.key!, password);
    this.stage = { kind: "chat" };
    this.send(changed ? PASSWORD_CHANGED : errorLine("your account is gone (wiped by the operator)"));
    if (changed) this.host.log("info", "password changed", { name: this.name, address: this.address });
  }

  private onClose(): void {
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.stage = { kind: "closed" };
    this.queue.length = 0;
    if (!this.leftHub) this.host.hub.send({ k: "leave", sid: this.sid });
    this.host.log("info", "disconnect", { address: this.address, name: this.name, reason: this.endReason });
    this.host.ended(this);
  }
}
