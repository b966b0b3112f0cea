import {
  actionLine,
  announceLine,
  chatLine,
  joinedLine,
  kickedLine,
  leftLine,
  privateIn,
  SIGNED_IN_ELSEWHERE,
} from "../../../protocol/chat-lines.ts";
import { newestWithin } from "../../../protocol/history-page.ts";
import {
  HISTORY_REPLY_BYTES,
  type HistoryEntry,
  type HistoryReply,
  type HubToThread,
  type JoinReply,
  type MsgReply,
} from "../../../protocol/hub-messages.ts";
import { nameKey, sortNames } from "../../../protocol/names.ts";
import { RegistrationBudget, registrationTiers } from "../../../protocol/registration-budget.ts";
import { SignInThrottle } from "../../../protocol/sign-in-throttle.ts";
import type { RegistrationReply, ThrottleReply } from "../../../protocol/hub-messages.ts";

/** A thread as the chat hub sees it: somewhere to send messages. */
export interface HubPeer {
  send(message: HubToThread): void;
  readonly worker: number;
  readonly thread: number;
}

/** Where the hub keeps chat history (HistoryStore, or a Redis stream one day). */
export interface HistorySink {
  append(record: HistoryEntry): void;
  last(n: number): HistoryEntry[];
}

export interface OnlineUser {
  name: string;
  address: string;
  since: string;
  worker: number;
  thread: number;
}

/**
 * ChatHub is the seam between session threads and whoever knows the whole chat: who is
 * online, the history, the fan-out. EmbeddedChatHub is the in-process implementation; a
 * Redis-backed hub for several daemons would implement the same interface.
 */
export interface ChatHub {
  admit(peer: HubPeer, address: string): boolean;
  release(peer: HubPeer, address: string): void;
  /** Before a password check: how long to wait, or to refuse it (the sign-in throttle). */
  throttle(key: string, address: string, lastAddress: string | null): ThrottleReply;
  failed(key: string, address: string): void;
  /** May address make an account now; spend: and count it (the registration budget). */
  registration(address: string, spend: boolean): RegistrationReply;
  reserve(peer: HubPeer, sid: string, key: string): boolean;
  join(peer: HubPeer, sid: string, key: string, name: string, address: string): JoinReply;
  leave(peer: HubPeer, sid: string, reason?: string): void;
  say(peer: HubPeer, sid: string, text: string): void;
  act(peer: HubPeer, sid: string, text: string): void;
  msg(peer: HubPeer, sid: string, to: string, text: string): MsgReply;
  who(): string[];
  /** The newest n records, bounded in bytes (HISTORY_REPLY_BYTES). */
  history(n: number): HistoryReply;
  peerGone(peer: HubPeer): void;
  users(): OnlineUser[];
  kick(name: string, reason?: string): boolean;
  announce(text: string): number;
  readonly onlineCount: number;
}

interface Member {
  sid: string;
  key: string;
  name: string;
  address: string;
  since: Date;
  peer: HubPeer;
}

export interface ChatHubOptions {
  maxPerAddress: number;
  /** Accounts an hour per network (protocol/registration-budget.ts); 0 or absent: no bound. */
  registrationsPerHour?: number;
  history: HistorySink;
  /** Whether message bodies are logged (debug level); checked before building the record. */
  debug?: boolean;
  log: (level: "info" | "debug" | "warn", msg: string, meta?: Record<string, unknown>) => void;
  now?: () => number;
}

export class EmbeddedChatHub implements ChatHub {
  private readonly bySid = new Map<string, Member>();
  private readonly byKey = new Map<string, Member>();
  /** Names held by sessions that are registering them: key -> the session and its thread. */
  private readonly reservations = new Map<string, { sid: string; peer: HubPeer }>();
  private readonly membersPerPeer = new Map<HubPeer, number>();
  private readonly connections = new Map<string, number>();
  private readonly connectionsPerPeer = new Map<HubPeer, Map<string, number>>();
  private readonly signIns = new SignInThrottle();
  private readonly registrations: RegistrationBudget | null;
  private readonly opts: ChatHubOptions;
  private readonly now: () => number;

  constructor(opts: ChatHubOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    const perHour = opts.registrationsPerHour ?? 0;
    this.registrations = perHour > 0 ? new RegistrationBudget(registrationTiers(perHour)) : null;
  }

  get onlineCount(): number {
    return this.byKey.size;
  }

  admit(peer: HubPeer, address: string): boolean {
    const count = this.connections.get(address) ?? 0;
    if (this.opts.maxPerAddress > 0 && count >= this.opts.maxPerAddress) return false;
    this.connections.set(address, count + 1);
    let own = this.connectionsPerPeer.get(peer);
    if (!own) {
      own = new Map();
      this.connectionsPerPeer.set(peer, own);
    }
    own.set(address, (own.get(address) ?? 0) + 1);
    return true;
  }

  release(peer: HubPeer, address: string): void {
    const own = this.connectionsPerPeer.get(peer);
    const mine = own?.get(address) ?? 0;
    if (mine === 0) return;
    if (mine === 1) own!.delete(address);
    else own!.set(address, mine - 1);
    const count = (this.connections.get(address) ?? 1) - 1;
    if (count <= 0) this.connections.delete(address);
    else this.connections.set(address, count);
  }

  throttle(key: string, address: string, lastAddress: string | null): ThrottleReply {
    return this.signIns.check(key, address, lastAddress, this.now());
  }

  failed(key: string, address: string): void {
    this.signIns.failed(key, address, this.now());
  }

  registration(address: string, spend: boolean): RegistrationReply {
    const budget = this.registrations;
    const wait = !budget ? 0 : spend ? budget.take(address, this.now()) : budget.waitMs(address, this.now());
    return { ok: wait === 0, retryAfterMs: wait };
  }

  reserve(peer: HubPeer, sid: string, key: string): boolean {
    if (this.byKey.has(key)) return false;
    const holder = this.reservations.get(key);
    if (holder !== undefined && holder.sid !== sid) return false;
    this.reservations.set(key, { sid, peer });
    return true;
  }

  join(peer: HubPeer, sid: string, key: string, name: string, address: string): JoinReply {
    if (this.reservations.get(key)?.sid === sid) this.reservations.delete(key);
    this.signIns.signedIn(key, address, this.now());
    const previous = this.byKey.get(key);
    const member: Member = { sid, key, name, address, since: new Date(this.now()), peer };
    if (previous) {
      // A takeover: the user never left, so nobody is told.
      this.removeMember(previous);
      previous.peer.send({
        k: "drop",
        sid: previous.sid,
        line: SIGNED_IN_ELSEWHERE,
        reason: "signed in from elsewhere",
      });
    }
    this.addMember(member);
    if (!previous) this.broadcast(joinedLine(name), sid);
    this.opts.log("info", "sign-in", { name, address, takeover: Boolean(previous) });
    const replay = this.history(20);
    return { online: this.who(), history: replay.records, omitted: replay.omitted };
  }

  leave(_peer: HubPeer, sid: string, reason?: string): void {
    const member = this.bySid.get(sid);
    if (!member) {
      for (const [key, holder] of this.reservations) if (holder.sid === sid) this.reservations.delete(key);
      return;
    }
    this.removeMember(member);
    this.broadcast(leftLine(member.name, reason || undefined), sid);
  }

  say(_peer: HubPeer, sid: string, text: string): void {
    const member = this.bySid.get(sid);
    if (!member) return;
    this.opts.history.append({ time: this.now(), name: member.name, text });
    if (this.opts.debug) this.opts.log("debug", "message", { name: member.name, text });
    this.broadcast(chatLine(member.name, text), sid);
  }

  act(_peer: HubPeer, sid: string, text: string): void {
    const member = this.bySid.get(sid);
    if (!member) return;
    if (this.opts.debug) this.opts.log("debug", "action", { name: member.name, text });
    this.broadcast(actionLine(member.name, text), sid);
  }

  msg(_peer: HubPeer, sid: string, to: string, text: string): MsgReply {
    const from = this.bySid.get(sid);
    const target = this.byKey.get(nameKey(to));
    if (!from || !target) return { ok: false };
    if (this.opts.debug)
      this.opts.log("debug", "private message", { from: from.name, to: target.name, text });
    target.peer.send({ k: "direct", sid: target.sid, line: privateIn(from.name, text) });
    return { ok: true, name: target.name };
  }

  who(): string[] {
    return sortNames([...this.byKey.values()].map((m) => m.name));
  }

  history(n: number): HistoryReply {
    return newestWithin(this.opts.history.last(n), HISTORY_REPLY_BYTES);
  }

  peerGone(peer: HubPeer): void {
    for (const member of [...this.bySid.values()]) {
      if (member.peer !== peer) continue;
      this.removeMember(member);
      this.broadcast(leftLine(member.name), member.sid);
    }
    for (const [address, n] of this.connectionsPerPeer.get(peer) ?? []) {
      for (let i = 0; i < n; i++) this.release(peer, address);
    }
    this.connectionsPerPeer.delete(peer);
    this.membersPerPeer.delete(peer);
    for (const [key, holder] of this.reservations) if (holder.peer === peer) this.reservations.delete(key);
  }

  users(): OnlineUser[] {
    return [...this.byKey.values()]
      .map((m) => ({
        name: m.name,
        address: m.address,
        since: m.since.toISOString(),
        worker: m.peer.worker,
        thread: m.peer.thread,
      }))
      .sort((a, b) => (nameKey(a.name) < nameKey(b.name) ? -1 : 1));
  }

  kick(name: string, reason?: string): boolean {
    const member = this.byKey.get(nameKey(name));
    if (!member) return false;
    // Offline for everyone at once; the thread's later leave for this session is a no-op.
    this.removeMember(member);
    this.broadcast(leftLine(member.name), member.sid);
    member.peer.send({
      k: "drop",
      sid: member.sid,
      line: kickedLine(reason),
      reason: "kicked by the operator",
    });
    this.opts.log("info", "kicked", { name: member.name, reason });
    return true;
  }

  announce(text: string): number {
    this.broadcast(announceLine(text), null);
    return this.byKey.size;
  }

  private addMember(member: Member): void {
    this.bySid.set(member.sid, member);
    this.byKey.set(member.key, member);
    this.membersPerPeer.set(member.peer, (this.membersPerPeer.get(member.peer) ?? 0) + 1);
  }

  private removeMember(member: Member): void {
    this.bySid.delete(member.sid);
    if (this.byKey.get(member.key) === member) this.byKey.delete(member.key);
    const n = (this.membersPerPeer.get(member.peer) ?? 1) - 1;
    if (n <= 0) this.membersPerPeer.delete(member.peer);
    else this.membersPerPeer.set(member.peer, n);
  }

  /** One message per thread that holds members, never one per member. */
  private broadcast(line: string, except: string | null): void {
    const message: HubToThread = { k: "deliver", line, except };
    for (const peer of this.membersPerPeer.keys()) peer.send(message);
  }
}
