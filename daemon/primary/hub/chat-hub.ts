import {
  actionLine,
  announceLine,
  bannedLine,
  chatLine,
  kickedLine,
  mutedLine,
  privateIn,
  SIGNED_IN_ELSEWHERE,
} from "../../../protocol/chat-lines.ts";
import type { AddressBanRule } from "../../../protocol/ban-target.ts";
import { newestWithin } from "../../../protocol/history-page.ts";
import {
  type AwayReply,
  HISTORY_REPLY_BYTES,
  type HistoryEntry,
  type HistoryReply,
  type HubToThread,
  type JoinReply,
  type MsgReply,
  type RegistrationReply,
  type ThrottleReply,
  type WhoisOnline,
} from "../../../protocol/hub-messages.ts";
import type { AccountOp, AccountResults } from "../../../protocol/account-messages.ts";
import type { OnlineUser } from "../../../protocol/rpc.ts";
import { primaryCounters } from "../metrics.ts";
import { AddressLimiter } from "./address-limiter.ts";
import type { HubPeer } from "./hub-peer.ts";
import { NameReservations } from "./name-reservations.ts";
import { PresenceNotices } from "./presence-notices.ts";
import { type Member, Roster } from "./roster.ts";
import { SignInLimits } from "./sign-in-limits.ts";

export type { HubPeer } from "./hub-peer.ts";

/** Where the hub keeps chat history (HistoryStore, or a Redis stream one day). */
export interface HistorySink {
  append(record: HistoryEntry): void;
  last(n: number): HistoryEntry[];
}

/**
 * A value now, or later: the embedded hub answers at once (no promise, no microtask per line);
 * the cluster's hub (cluster/redis-chat-hub.ts) answers after a Redis round trip.
 */
export type Maybe<T> = T | Promise<T>;

/** Whether a Maybe is still to come. */
export function isPending<T>(value: Maybe<T>): value is Promise<T> {
  return typeof (value as Promise<T> | null)?.then === "function";
}

/**
 * ChatHub is the seam between session threads and whoever knows the whole chat: who is
 * online, the history, the fan-out. EmbeddedChatHub is the in-process implementation;
 * RedisChatHub (cluster/) lets several daemons share one chat, its answers asynchronous.
 */
export interface ChatHub {
  admit(peer: HubPeer, address: string): boolean;
  release(peer: HubPeer, address: string): void;
  /** Before a password check: how long to wait, or to refuse it (the sign-in throttle). */
  throttle(key: string, address: string, lastAddress: string | null): Maybe<ThrottleReply>;
  /** A wrong password; in a cluster it counts once the promise settles. */
  failed(key: string, address: string): Maybe<void>;
  /** May address make an account now; spend: and count it (the registration budget). */
  registration(address: string, spend: boolean): Maybe<RegistrationReply>;
  reserve(peer: HubPeer, sid: string, key: string): Maybe<boolean>;
  join(peer: HubPeer, sid: string, key: string, name: string, address: string): Maybe<JoinReply>;
  leave(peer: HubPeer, sid: string, reason?: string): Maybe<void>;
  say(peer: HubPeer, sid: string, text: string): void;
  act(peer: HubPeer, sid: string, text: string): void;
  msg(peer: HubPeer, sid: string, to: string, text: string): Maybe<MsgReply>;
  who(): Maybe<string[]>;
  /** Those online who are away (their /who entry reads `name (away)`). */
  awayNames(): Maybe<string[]>;
  /** Marks sid's user away with text, or back (null); answers what it was before. */
  away(peer: HubPeer, sid: string, text: string | null): Maybe<AwayReply>;
  /** The account of that key if it is signed in: since when, last active, away text. */
  whois(key: string): Maybe<WhoisOnline | null>;
  /** The newest n records, bounded in bytes (HISTORY_REPLY_BYTES). */
  history(n: number): Maybe<HistoryReply>;
  /** The cluster's accounts (--hub redis); absent: the threads use identities.json themselves. */
  account?(call: AccountOp): Promise<AccountResults[AccountOp["op"]]>;
  /** The message of the day shown at sign-in from now on (sanitised lines; empty: none). */
  setMotd(lines: readonly string[]): void;
  peerGone(peer: HubPeer): void;
  users(): Maybe<OnlineUser[]>;
  kick(name: string, reason?: string): Maybe<boolean>;
  /** The line that refuses a sign-in of this account key or from this address (a ban in force); null when none. */
  refusal(key: string, address: string | null): string | null;
  /** The address bans in force, which every session thread holds to refuse a banned address as it connects. */
  addressBans(): AddressBanRule[];
  /** Closes the sessions of the members match picks, each with line; the others see them leave. Answers their names. */
  disconnect(
    match: (member: { key: string; address: string }) => boolean,
    line: string,
    reason: string,
  ): Maybe<string[]>;
  announce(text: string): Maybe<number>;
  readonly onlineCount: number;
}

/** When a ban or mute ends: ms since the epoch, null when it is permanent. */
interface Timed {
  until: number | null;
}

/** The bans and mutes the hub enforces (primary/hub/moderation.ts). */
export interface HubModeration {
  nameBan(key: string): (Timed & { reason: string | null }) | null;
  addressBan(address: string): (Timed & { reason: string | null }) | null;
  muteOf(key: string): Timed | null;
  addressRules(): AddressBanRule[];
}

export interface ChatHubOptions {
  /** Read at each admission: a getter may change it while the hub runs (config.set). */
  maxPerAddress: number;
  /** Accounts an hour per network (protocol/registration-budget.ts); 0 or absent: no bound. */
  registrationsPerHour?: number;
  history: HistorySink;
  /** Bans checked at sign-in, mutes on every line; absent: nobody is banned or muted. */
  moderation?: HubModeration;
  /** Whether message bodies are logged (debug level); checked before building the record. */
  debug?: boolean;
  log: (level: "info" | "debug" | "warn", msg: string, meta?: Record<string, unknown>) => void;
  now?: () => number;
}

/** History lines a session is shown when it signs in. */
const JOIN_REPLAY = 20;

/**
 * EmbeddedChatHub is the chat of one daemon, in its primary: the roster, the per-address cap,
 * the sign-in limits and name reservations, each in a module of its own; what is left here is
 * the chat itself: sign-in and takeover, what each line says to whom, and the fan-out, one
 * message per thread with members, never one per member.
 */
export class EmbeddedChatHub implements ChatHub {
  private readonly roster = new Roster();
  private readonly addresses: AddressLimiter;
  private readonly signIns: SignInLimits;
  private readonly reservations = new NameReservations();
  private readonly opts: ChatHubOptions;
  private readonly now: () => number;
  private motd: string[] = [];
  /** Join and leave notices: one by one, or one combined line a second in a storm. */
  private readonly notices = new PresenceNotices(
    (line, except) => this.broadcast(line, except),
    () => this.now(),
  );

  constructor(opts: ChatHubOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.addresses = new AddressLimiter(() => this.opts.maxPerAddress);
    this.signIns = new SignInLimits(opts.registrationsPerHour ?? 0, this.now);
  }

  get onlineCount(): number {
    return this.roster.size;
  }

  admit(peer: HubPeer, address: string): boolean {
    return this.addresses.admit(peer, address);
  }

  release(peer: HubPeer, address: string): void {
    this.addresses.release(peer, address);
  }

  throttle(key: string, address: string, lastAddress: string | null): ThrottleReply {
    return this.signIns.throttle(key, address, lastAddress);
  }

  failed(key: string, address: string): void {
    this.signIns.failed(key, address);
  }

  registration(address: string, spend: boolean): RegistrationReply {
    return this.signIns.registration(address, spend);
  }

  reserve(peer: HubPeer, sid: string, key: string): boolean {
    return !this.roster.account(key) && this.reservations.reserve(peer, sid, key);
  }

  join(peer: HubPeer, sid: string, key: string, name: string, address: string): JoinReply {
    // Checked here, as the sign-in completes, so a ban made while the password was typed holds too.
    const refused = this.refusal(key, address);
    if (refused) {
      this.opts.log("info", "sign-in refused: banned", { conn: sid, name, address });
      return { online: "", history: [], omitted: 0, motd: [], refused };
    }
    this.reservations.signedIn(sid, key);
    this.signIns.signedIn(key, address);
    const previous = this.roster.account(key);
    if (previous) {
      // A takeover: the user never left, so nobody is told.
      this.roster.remove(previous);
      previous.peer.send({
        k: "drop",
        sid: previous.sid,
        line: SIGNED_IN_ELSEWHERE,
        reason: "signed in from elsewhere",
      });
    }
    // A new sign-in (a takeover too) is someone at a keyboard: not away.
    const now = this.now();
    this.roster.add({ sid, key, name, address, since: new Date(now), peer, away: null, lastActive: now });
    if (!previous) this.notices.joined(key, name, sid);
    // conn: the session's sid, which is its connection's id in the thread's lines.
    this.opts.log("info", "sign-in", { conn: sid, name, address, takeover: Boolean(previous) });
    const replay = this.history(JOIN_REPLAY);
    return {
      // One ready line, not the names: at 10,000 online the thread has one string to read, none to format.
      online: this.roster.onlineLine(),
      history: replay.records,
      omitted: replay.omitted,
      motd: this.motd,
    };
  }

  leave(_peer: HubPeer, sid: string, reason?: string): void {
    const member = this.roster.session(sid);
    if (!member) {
      this.reservations.sessionGone(sid);
      return;
    }
    this.roster.remove(member);
    this.notices.left(member.key, member.name, sid, reason || undefined);
  }

  say(_peer: HubPeer, sid: string, text: string): void {
    const member = this.roster.session(sid);
    if (!member || this.refuseMuted(member)) return;
    member.lastActive = this.now();
    this.notices.speaking(member.key);
    this.opts.history.append({ time: member.lastActive, name: member.name, text });
    if (this.opts.debug) this.opts.log("debug", "message", { name: member.name, text });
    this.broadcast(chatLine(member.name, text), sid, member.key);
  }

  act(_peer: HubPeer, sid: string, text: string): void {
    const member = this.roster.session(sid);
    if (!member || this.refuseMuted(member)) return;
    member.lastActive = this.now();
    this.notices.speaking(member.key);
    this.opts.history.append({ time: member.lastActive, name: member.name, text, action: true });
    if (this.opts.debug) this.opts.log("debug", "action", { name: member.name, text });
    this.broadcast(actionLine(member.name, text), sid, member.key);
  }

  msg(_peer: HubPeer, sid: string, to: string, text: string): MsgReply {
    const from = this.roster.session(sid);
    const mute = from && this.opts.moderation?.muteOf(from.key);
    if (mute) return { ok: false, refused: mutedLine(mute.until) };
    const target = this.roster.named(to);
    if (!from || !target) return { ok: false };
    from.lastActive = this.now();
    if (this.opts.debug)
      this.opts.log("debug", "private message", { from: from.name, to: target.name, text });
    target.peer.send({
      k: "direct",
      sid: target.sid,
      line: privateIn(from.name, text),
      from: { key: from.key, name: from.name },
    });
    // The thread of an ignoring target drops the line; the sender is not told (as for any ignore).
    return target.away === null
      ? { ok: true, name: target.name }
      : { ok: true, name: target.name, away: target.away };
  }

  who(): string[] {
    return this.roster.names();
  }

  awayNames(): string[] {
    return this.roster.awayNames();
  }

  away(_peer: HubPeer, sid: string, text: string | null): AwayReply {
    const member = this.roster.session(sid);
    if (!member) return { was: null };
    const was = member.away;
    this.roster.setAway(member, text);
    member.lastActive = this.now();
    return { was };
  }

  whois(key: string): WhoisOnline | null {
    const member = this.roster.account(key);
    if (!member) return null;
    return {
      name: member.name,
      since: member.since.getTime(),
      lastActive: member.lastActive,
      away: member.away,
    };
  }

  setMotd(lines: readonly string[]): void {
    this.motd = [...lines];
  }

  history(n: number): HistoryReply {
    return newestWithin(this.opts.history.last(n), HISTORY_REPLY_BYTES);
  }

  peerGone(peer: HubPeer): void {
    for (const member of this.roster.membersOf(peer)) {
      this.roster.remove(member);
      this.notices.left(member.key, member.name, member.sid);
    }
    this.addresses.peerGone(peer);
    this.reservations.peerGone(peer);
  }

  users(): OnlineUser[] {
    return this.roster.members().map((m) => ({
      name: m.name,
      address: m.address,
      since: m.since.toISOString(),
      worker: m.peer.worker,
      thread: m.peer.thread,
      away: m.away,
    }));
  }

  kick(name: string, reason?: string): boolean {
    const member = this.roster.named(name);
    if (!member) return false;
    // Offline for everyone at once; the thread's later leave for this session is a no-op.
    this.roster.remove(member);
    this.notices.left(member.key, member.name, member.sid);
    member.peer.send({
      k: "drop",
      sid: member.sid,
      line: kickedLine(reason),
      reason: "kicked by the operator",
    });
    this.opts.log("info", "kicked", { conn: member.sid, name: member.name, reason });
    primaryCounters.kicks++;
    return true;
  }

  refusal(key: string, address: string | null): string | null {
    const moderation = this.opts.moderation;
    if (!moderation) return null;
    const ban = moderation.nameBan(key) ?? (address === null ? null : moderation.addressBan(address));
    return ban ? bannedLine(ban.reason, ban.until) : null;
  }

  addressBans(): AddressBanRule[] {
    return this.opts.moderation?.addressRules() ?? [];
  }

  disconnect(
    match: (member: { key: string; address: string }) => boolean,
    line: string,
    reason: string,
  ): string[] {
    const names: string[] = [];
    for (const member of this.roster.members()) {
      if (!match(member)) continue;
      // As a kick: offline for everyone at once; the thread's later leave for this session is a no-op.
      this.roster.remove(member);
      this.notices.left(member.key, member.name, member.sid);
      member.peer.send({ k: "drop", sid: member.sid, line, reason });
      names.push(member.name);
    }
    return names;
  }

  /** A muted member's line goes nowhere: only its author is told, and nobody else sees a thing. */
  private refuseMuted(member: Member): boolean {
    const mute = this.opts.moderation?.muteOf(member.key);
    if (!mute) return false;
    member.peer.send({ k: "direct", sid: member.sid, line: mutedLine(mute.until) });
    return true;
  }

  announce(text: string): number {
    this.broadcast(announceLine(text), null);
    return this.roster.size;
  }

  /**
   * One message per thread that holds members, never one per member: the threads fan it out.
   * from: the author's key, for the sessions that ignore them.
   */
  private broadcast(line: string, except: string | null, from?: string): void {
    const message: HubToThread =
      from === undefined ? { k: "deliver", line, except } : { k: "deliver", line, except, from };
    for (const peer of this.roster.peers()) peer.send(message);
  }
}
