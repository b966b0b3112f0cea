import { ConnectionIds } from "../connection-ids.ts";
import type net from "node:net";
import { AddressBanList, type AddressBanRule } from "../../../protocol/ban-target.ts";
import { bannedLine, motdLines, SHUTTING_DOWN } from "../../../protocol/chat-lines.ts";
import { OncePer } from "../../../protocol/flood.ts";
import type { Deliver, Direct, Drop, JoinReply } from "../../../protocol/hub-messages.ts";
import { ChatSession, type SessionHost } from "./chat-session.ts";
import { type Outgoing, planWrites } from "./outgoing-batch.ts";
import type { Service } from "../service.ts";
import { SESSION_CLOSE_GRACE_MS } from "../../shared/limits.ts";
import { countChatBytes, linesIn, threadCounters } from "../metrics.ts";

/**
 * ChatService hosts a thread's chat sessions and carries out what the hub sends: one
 * deliver per message for the whole thread; a turn's lines are encoded once and written to
 * every signed-in session in one write.
 */
export class ChatService implements Service {
  readonly name = "chat" as const;
  private readonly open = new Map<string, ChatSession>();
  private readonly signedIn = new Map<string, ChatSession>();
  /** The signed-in sessions that ignore someone, with the keys they ignore: only these get filtered writes. */
  private readonly ignoring = new Map<string, ReadonlySet<string>>();
  private readonly host: Omit<SessionHost, "joined" | "ended" | "ignoresChanged" | "flushPending">;
  /** What every session of this service is given: one object for all, not one (and three closures) per session. */
  private readonly sessionHost: SessionHost;
  /** Names the connections: a session's sid is its connection's id (w1t2-17), in the thread's and the hub's lines alike. */
  private readonly ids: ConnectionIds;
  private readonly changed: () => void;
  private pending: Outgoing[] = [];
  private readonly scheduledFlush = () => this.flush();
  /** Sessions that joined while this turn's lines were queued, with how many were queued then. */
  private readonly joinedMidTurn = new Map<string, number>();
  /** The address bans in force, as the hub last sent them: a banned address is refused as it connects. */
  private bans = new AddressBanList([]);
  /** Refusals of banned addresses are logged at most once a second, with how many there were. */
  private readonly bannedLog = new OncePer(1000);
  private bannedSinceLog = 0;

  constructor(
    host: Omit<SessionHost, "joined" | "ended" | "ignoresChanged" | "flushPending">,
    ids: ConnectionIds | string,
    changed: () => void,
  ) {
    this.host = host;
    this.ids = typeof ids === "string" ? new ConnectionIds(ids) : ids;
    this.changed = changed;
    this.sessionHost = {
      ...host,
      joined: (s, reply) => this.joined(s, reply),
      ignoresChanged: (s) => this.ignoresChanged(s),
      ended: (s) => this.ended(s),
      flushPending: () => this.flushPending(),
    };
  }

  /** Writes the lines batched so far now, instead of at the next scheduled flush. */
  flushPending(): void {
    if (this.pending.length > 0) this.flush();
  }

  get sessions(): number {
    return this.open.size;
  }

  accept(socket: net.Socket): void {
    // Before the greeting, without asking the hub: the thread holds the bans.
    const address = socket.remoteAddress ?? "unknown";
    const ban = this.bans.match(address, Date.now());
    if (ban) {
      this.refuseBanned(socket, address, ban);
      return;
    }
    const sid = this.ids.of(socket);
    countChatBytes(socket);
    const session = new ChatSession(sid, socket, this.sessionHost);
    this.open.set(sid, session);
    this.changed();
    session.log("info", "connect");
    void session.start();
  }

  private ended(session: ChatSession): void {
    this.open.delete(session.sid);
    this.signedIn.delete(session.sid);
    this.ignoring.delete(session.sid);
    this.changed();
  }

  /**
   * A session's join reply has just been read. Every hub line queued so far was sent before the
   * join and is in the replay (or predates it), so the new session gets only the lines queued
   * after this point, after its replay and online line. The turn's batch is not cut short: in a
   * sign-in storm the others still get one write per turn, not one per join.
   */
  private joined(session: ChatSession, reply: JoinReply): void {
    if (!this.open.has(session.sid)) return;
    if (reply.refused !== undefined) {
      session.joinRefused(reply.refused);
      return;
    }
    threadCounters.signIns++;
    session.sendHistory(reply.history, reply.omitted);
    if (reply.motd.length > 0) session.send(motdLines(reply.motd));
    // The hub sends the line ready: at 10,000 online, one string to read instead of 10,000 names to parse and join.
    session.send(reply.online);
    this.signedIn.set(session.sid, session);
    session.io.batched = true;
    if (this.pending.length > 0) this.joinedMidTurn.set(session.sid, this.pending.length);
    this.setIgnores(session);
  }

  /**
   * A session's ignore list changed. Lines already queued this turn were planned without it;
   * they go out first, so a change applies from the next line on.
   */
  private ignoresChanged(session: ChatSession): void {
    if (!this.signedIn.has(session.sid)) return;
    this.flush();
    this.setIgnores(session);
  }

  private setIgnores(session: ChatSession): void {
    if (session.ignores.size > 0) this.ignoring.set(session.sid, new Set(session.ignores.keys()));
    else this.ignoring.delete(session.sid);
  }

  /**
   * The address bans in force (sent by the hub before the welcome and on every change). Those
   * still signing in from a newly banned address are closed; the signed-in ones the hub drops.
   */
  setBans(rules: readonly AddressBanRule[]): void {
    this.bans = new AddressBanList(rules);
    const now = Date.now();
    for (const session of this.open.values()) {
      if (this.signedIn.has(session.sid)) continue;
      const ban = this.bans.match(session.address, now);
      if (ban) session.close("banned", bannedLine(ban.reason, ban.until));
    }
  }

  /** `! banned` and the close, before any greeting; the descriptor goes back once the line is out or after the grace. */
  private refuseBanned(socket: net.Socket, address: string, ban: AddressBanRule): void {
    socket.end(bannedLine(ban.reason, ban.until));
    setTimeout(() => socket.destroy(), SESSION_CLOSE_GRACE_MS).unref();
    this.bannedSinceLog++;
    if (!this.bannedLog.ready(Date.now())) return;
    this.host.log("info", "connection refused: banned", {
      address,
      ban: ban.target,
      refused: this.bannedSinceLog,
    });
    this.bannedSinceLog = 0;
  }

  deliver(message: Deliver): void {
    this.queue({ line: message.line, except: message.except, to: null, from: message.from });
  }

  direct(message: Direct): void {
    const from = message.from;
    if (from) {
      const session = this.signedIn.get(message.sid);
      // An ignored sender's message is dropped here, so it is not /reply's target either.
      if (!session || session.isIgnoring(from.key)) return;
      session.replyTo = from.name;
    }
    this.queue({ line: message.line, except: null, to: message.sid, from: from?.key });
  }

  /**
   * Lines from the hub wait until the event loop has handled every hub message of this turn
   * (setImmediate runs after the poll phase); then each session gets one write. Holding them
   * longer (a flush at most every 4 or 12 ms) was measured and not kept: at 1,000 receivers the
   * flush itself takes longer than the gap between lines, so the lines that can share a write
   * already do, and the wait only added to p99 (docs/performance.md, fan-out to 1,000).
   */
  private queue(item: Outgoing): void {
    this.pending.push(item);
    if (this.pending.length === 1) setImmediate(this.scheduledFlush);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const { shared, own } = planWrites(batch, this.ignoring);
    const late = this.joinedMidTurn.size > 0 ? this.lateWrites(batch) : null;
    this.joinedMidTurn.clear();
    let sharedWrites = 0;
    for (const [sid, session] of this.signedIn) {
      const data = late?.has(sid) ? late.get(sid) : own.has(sid) ? own.get(sid) : shared;
      if (!data) continue;
      session.deliver(data);
      // Lines delivered, one per recipient: the shared buffer's are counted once for all its writes.
      if (data === shared) sharedWrites++;
      else threadCounters.messagesOut += linesIn(data);
    }
    if (shared && sharedWrites > 0) threadCounters.messagesOut += sharedWrites * linesIn(shared);
  }

  /** What each session that joined mid-turn gets: the lines queued after its join, planned as for the others. */
  private lateWrites(batch: readonly Outgoing[]): Map<string, Buffer | null> {
    const byStart = new Map<number, string[]>();
    for (const [sid, start] of this.joinedMidTurn) byStart.set(start, [...(byStart.get(start) ?? []), sid]);
    const writes = new Map<string, Buffer | null>();
    for (const [start, sids] of byStart) {
      const { shared, own } = planWrites(batch.slice(start), this.ignoring);
      for (const sid of sids) writes.set(sid, own.has(sid) ? (own.get(sid) ?? null) : shared);
    }
    return writes;
  }

  drop(message: Drop): void {
    // Lines the hub sent before the drop reach the session before its last line.
    this.flush();
    this.open.get(message.sid)?.close(message.reason, message.line);
  }

  async shutdown(graceMs: number): Promise<void> {
    this.flush();
    for (const session of this.open.values())
      session.closeSoon("server shutting down", SHUTTING_DOWN, graceMs);
    const deadline = Date.now() + graceMs;
    while (this.open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
}
