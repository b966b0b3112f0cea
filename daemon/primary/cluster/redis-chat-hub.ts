import type { AccountOp, AccountResults } from "../../../protocol/account-messages.ts";
import type { AddressBanRule } from "../../../protocol/ban-target.ts";
import {
  AWAY_UNAVAILABLE,
  announceLine,
  bannedLine,
  CHAT_MAYBE_UNSENT,
  CHAT_UNAVAILABLE,
  kickedLine,
  mutedLine,
  onlineLine,
  privateIn,
  SIGN_IN_UNAVAILABLE,
  SIGNED_IN_ELSEWHERE,
} from "../../../protocol/chat-lines.ts";
import { newestWithin } from "../../../protocol/history-page.ts";
import {
  type AwayReply,
  HISTORY_REPLY_BYTES,
  type HistoryEntry,
  type HistoryReply,
  type JoinReply,
  type MsgReply,
  type RegistrationReply,
  type ThrottleReply,
  type WhoisOnline,
} from "../../../protocol/hub-messages.ts";
import { nameKey, sortNames } from "../../../protocol/names.ts";
import type { OnlineUser } from "../../../protocol/rpc.ts";
import { AddressLimiter } from "../hub/address-limiter.ts";
import type { ChatHub, HubPeer } from "../hub/chat-hub.ts";
import { NameReservations } from "../hub/name-reservations.ts";
import { type Member, Roster } from "../hub/roster.ts";
import { primaryCounters } from "../metrics.ts";
import { ChatPublisher, mayHaveRun } from "./chat-publisher.ts";
import type { ClusterEvent } from "./cluster-events.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import { type ClusterLog, JOIN_REPLAY, STREAM_MAXLEN } from "./cluster-limits.ts";
import { ClusterPresence, type OnlineRecord } from "./cluster-presence.ts";
import { GapRepair } from "./gap-repair.ts";
import { LocalDelivery } from "./local-delivery.ts";
import { type ClusterNode, NodeLease } from "./node-lease.ts";
import { RedisAccounts } from "./redis-accounts.ts";
import type { RedisLink, RedisReply } from "./redis-link.ts";
import { RedisModeration } from "./redis-moderation.ts";
import { SharedThrottle } from "./shared-throttle.ts";
import { StreamReader } from "./stream-reader.ts";

export type { ClusterNode } from "./node-lease.ts";
export { BEAT_INTERVAL_MS, LEASE_MS, STALL_MS, STREAM_MAXLEN } from "./cluster-limits.ts";
export { NodeIdInUse } from "./node-lease.ts";

export interface ClusterStatus {
  name: string;
  redis: { url: string; connected: boolean };
  nodes: ClusterNode[];
}

export interface RedisChatHubOptions {
  redis: RedisLink;
  keys: ClusterKeys;
  cluster: string;
  node: string;
  host: string;
  /** Read at each admission (config.set may change it). */
  maxPerAddress: number;
  registrationsPerHour?: number;
  historyKeep: number;
  log: ClusterLog;
}

/**
 * RedisChatHub is the chat of several daemons on one Redis (cluster.md). Each daemon keeps, as
 * the embedded hub does, its own sessions (the roster: which thread holds whom), the
 * per-address cap, the sign-in limits and name reservations; what the cluster shares lives in
 * Redis: the accounts (RedisAccounts), who is online (ClusterPresence), the nodes' leases
 * (NodeLease), and one stream of events that every daemon reads in order with its own cursor
 * (StreamReader) and applies to its own sessions (LocalDelivery). A chat line is one XADD, sent
 * once: if it fails, its author is told, and it is never resent. Lines reach the local threads
 * only from the stream, so every daemon delivers the same lines in the same order, and the
 * history (the replay, /history) is what this daemon has read from the stream, the same everywhere.
 */
export class RedisChatHub implements ChatHub {
  readonly accounts: RedisAccounts;
  /** The cluster's bans and mutes (in Redis), checked here and changed by the control methods. */
  readonly moderation: RedisModeration;
  private readonly opts: RedisChatHubOptions;
  private readonly redis: RedisLink;
  private readonly node: string;
  private readonly roster = new Roster();
  private readonly addresses: AddressLimiter;
  private readonly throttles: SharedThrottle;
  private readonly reservations = new NameReservations();
  private readonly presence: ClusterPresence;
  private readonly publisher: ChatPublisher;
  private readonly delivery: LocalDelivery;
  private readonly reader: StreamReader;
  private readonly gapRepair: GapRepair;
  /** Waiting for the next beat's follow-up to finish (afterNextBeat). */
  private readonly beatWaiters: (() => void)[] = [];
  private readonly lease: NodeLease;
  private motd: string[] = [];
  private stopped = false;

  private constructor(opts: RedisChatHubOptions) {
    this.opts = opts;
    this.redis = opts.redis;
    this.node = opts.node;
    this.accounts = new RedisAccounts(opts.redis, opts.keys);
    this.moderation = new RedisModeration({
      redis: opts.redis,
      keys: opts.keys,
      streamMaxLen: STREAM_MAXLEN,
      log: opts.log,
    });
    this.addresses = new AddressLimiter(() => this.opts.maxPerAddress);
    this.throttles = new SharedThrottle(opts.redis, opts.keys, opts.registrationsPerHour ?? 0);
    this.presence = new ClusterPresence(opts.redis, opts.keys, opts.node);
    this.publisher = new ChatPublisher(opts.redis, opts.keys, opts.node, opts.log, () =>
      this.lease.redisNow(),
    );
    this.delivery = new LocalDelivery({
      roster: this.roster,
      node: opts.node,
      historyKeep: opts.historyKeep,
      moderationChanged: () => this.moderation.changed(),
    });
    this.gapRepair = new GapRepair({
      roster: this.roster,
      presence: this.presence,
      moderation: this.moderation,
      delivery: this.delivery,
      log: opts.log,
      afterNextBeat: () => this.afterNextBeat(),
    });
    this.reader = new StreamReader({
      redis: opts.redis,
      keys: opts.keys,
      log: opts.log,
      node: opts.node,
      apply: (event) => this.delivery.apply(event),
      fellBehind: () => this.delivery.fellBehind(),
      missedEvents: () => {
        if (!this.stopped) this.gapRepair.gapFound();
      },
    });
    this.lease = new NodeLease({
      redis: opts.redis,
      keys: opts.keys,
      cluster: opts.cluster,
      node: opts.node,
      host: opts.host,
      log: opts.log,
      users: () => this.roster.size,
      afterBeat: (lost) => this.afterBeat(lost),
    });
  }

  /** Takes this node's lease, reads the history from the stream, and starts the reader and the heartbeat. */
  static async open(opts: RedisChatHubOptions): Promise<RedisChatHub> {
    const hub = new RedisChatHub(opts);
    await hub.lease.claim();
    try {
      await hub.reader.loadHistory((event) => {
        if (event.t === "line" && event.h) hub.delivery.remember(event.h);
      });
      // After the cursor is set: a change made from now on is on the stream past it.
      await hub.moderation.open();
      await hub.lease.beat();
      await hub.reader.start();
    } catch (error) {
      // The id was claimed: let it go at once, so a start again need not wait for the lease.
      hub.reader.stop();
      await hub.lease.release();
      throw error;
    }
    hub.lease.start();
    return hub;
  }

  /** Users online in the whole cluster, as of the last heartbeat (and at least this daemon's own). */
  get onlineCount(): number {
    return Math.max(this.lease.online, this.roster.size);
  }

  clusterStatus(): ClusterStatus {
    return {
      name: this.opts.cluster,
      redis: this.redis.status(),
      nodes: this.lease.nodes(),
    };
  }

  // --- what stays per daemon, as in the embedded hub ---

  admit(peer: HubPeer, address: string): boolean {
    return this.addresses.admit(peer, address);
  }

  release(peer: HubPeer, address: string): void {
    this.addresses.release(peer, address);
  }

  throttle(key: string, address: string, lastAddress: string | null): Promise<ThrottleReply> {
    return this.throttles.throttle(key, address, lastAddress);
  }

  failed(key: string, address: string): Promise<void> {
    return this.throttles.failed(key, address);
  }

  registration(address: string, spend: boolean): RegistrationReply {
    return this.throttles.registration(address, spend);
  }

  refusal(key: string, address: string | null): string | null {
    const moderation = this.moderation;
    const ban = moderation.nameBan(key) ?? (address === null ? null : moderation.addressBan(address));
    return ban ? bannedLine(ban.reason, ban.until) : null;
  }

  addressBans(): AddressBanRule[] {
    return this.moderation.addressRules();
  }

  setMotd(lines: readonly string[]): void {
    this.motd = [...lines];
  }

  history(n: number): HistoryReply {
    return newestWithin(this.delivery.newest(n), HISTORY_REPLY_BYTES);
  }

  account(call: AccountOp): Promise<AccountResults[AccountOp["op"]]> {
    return this.accounts.run(call);
  }

  // --- the cluster's ---

  async reserve(peer: HubPeer, sid: string, key: string): Promise<boolean> {
    if (this.roster.account(key)) return false;
    if (await this.presence.isOnline(key)) return false;
    return this.reservations.reserve(peer, sid, key);
  }

  async join(peer: HubPeer, sid: string, key: string, name: string, address: string): Promise<JoinReply> {
    const refused = this.refusal(key, address);
    const none = { online: "", history: [], omitted: 0, motd: [] };
    if (refused) {
      this.opts.log("info", "sign-in refused: banned", { conn: sid, name, address });
      return { ...none, refused };
    }
    const now = Date.now();
    const member: Member = {
      sid,
      key,
      name,
      address,
      since: new Date(now),
      peer,
      away: null,
      lastActive: now,
    };
    let previous: RedisReply;
    this.presence.cancelLeave(sid, key);
    try {
      previous = await this.presence.join(member);
    } catch (error) {
      // The fault's own sentence: Redis may be out of reach, or answer and refuse writes (OOM, READONLY).
      this.opts.log("warn", `sign-in refused: ${(error as Error).message}`, { conn: sid, name });
      // The join may have run with its answer lost: its record is taken off line again (now, or
      // at the next beat that gets through), so no session that is not here stays listed.
      if (mayHaveRun(error)) void this.presence.leave(this.presence.record(member));
      return { ...none, refused: SIGN_IN_UNAVAILABLE };
    }
    this.reservations.signedIn(sid, key);
    this.throttles.signedIn(key, address);
    const local = this.roster.account(key);
    if (local) {
      // A takeover on this daemon: the thread closes the old session; nobody is told.
      this.roster.remove(local);
      local.peer.send({
        k: "drop",
        sid: local.sid,
        line: SIGNED_IN_ELSEWHERE,
        reason: "signed in from elsewhere",
      });
    }
    this.roster.add(member);
    this.opts.log("info", "sign-in", { conn: sid, name, address, takeover: Boolean(previous) });
    const online = await this.presence.onlineRecords().catch(() => null);
    // The replay is what this daemon has read from the stream when the reply leaves: every later
    // line reaches the new session live, every earlier one is in the replay, none in both.
    const replay = this.history(JOIN_REPLAY);
    return {
      online: online
        ? onlineLine(
            sortNames(online.map((r) => r.name)),
            online.filter((r) => r.away !== null).map((r) => r.name),
            true,
          )
        : onlineLine(this.roster.names(), this.roster.awayNames(), true),
      history: replay.records,
      omitted: replay.omitted,
      motd: this.motd,
    };
  }

  async leave(_peer: HubPeer, sid: string, reason?: string): Promise<void> {
    const member = this.roster.session(sid);
    if (!member) {
      this.reservations.sessionGone(sid);
      return;
    }
    this.roster.remove(member);
    await this.presence.leave(this.presence.record(member), reason);
  }

  say(_peer: HubPeer, sid: string, text: string): void {
    const member = this.roster.session(sid);
    if (!member || this.refuseMuted(member)) return;
    this.line(member, { time: Date.now(), name: member.name, text });
  }

  act(_peer: HubPeer, sid: string, text: string): void {
    const member = this.roster.session(sid);
    if (!member || this.refuseMuted(member)) return;
    this.line(member, { time: Date.now(), name: member.name, text, action: true });
  }

  async msg(_peer: HubPeer, sid: string, to: string, text: string): Promise<MsgReply> {
    const from = this.roster.session(sid);
    const mute = from && this.moderation.muteOf(from.key);
    if (mute) return { ok: false, refused: mutedLine(mute.until) };
    if (!from) return { ok: false };
    let target: OnlineRecord | null;
    try {
      target = await this.presence.onlineRecord(nameKey(to));
    } catch {
      return { ok: false, refused: CHAT_UNAVAILABLE };
    }
    if (!target) return { ok: false };
    this.presence.touch(from);
    const line = privateIn(from.name, text);
    const author = { key: from.key, name: from.name };
    if (target.node === this.node) {
      const local = this.roster.session(target.sid);
      if (!local) return { ok: false };
      local.peer.send({ k: "direct", sid: local.sid, line, from: author });
    } else {
      const event: ClusterEvent = { t: "direct", node: target.node, sid: target.sid, line, from: author };
      // As a chat line: its outcome found out before the sender is told (chat-publisher.ts).
      const outcome = await this.publisher.line(event);
      if (outcome !== "sent")
        return { ok: false, refused: outcome === "refused" ? CHAT_UNAVAILABLE : CHAT_MAYBE_UNSENT };
    }
    return target.away === null
      ? { ok: true, name: target.name }
      : { ok: true, name: target.name, away: target.away };
  }

  /** /who: the cluster's; when Redis cannot answer this rejects (the asker is told so, not shown this daemon's users only). */
  async who(): Promise<string[]> {
    const online = await this.presence.onlineRecords();
    return sortNames(online.map((r) => r.name));
  }

  async awayNames(): Promise<string[]> {
    const online = await this.presence.onlineRecords();
    return online.filter((r) => r.away !== null).map((r) => r.name);
  }

  async away(_peer: HubPeer, sid: string, text: string | null): Promise<AwayReply> {
    const member = this.roster.session(sid);
    if (!member) return { was: null };
    const was = member.away;
    member.away = text;
    member.lastActive = Date.now();
    try {
      await this.presence.write(member);
    } catch (error) {
      // Not in Redis: the others would not see it, so the session is told nothing changed; and
      // when it may have run there with its answer lost, the record is written again at the next
      // beat, so Redis too holds what the session was told (and this copy is Redis's).
      if (member.away === text) member.away = was;
      if (mayHaveRun(error)) this.presence.writeLater(member);
      return { was, refused: AWAY_UNAVAILABLE };
    }
    return { was };
  }

  async whois(key: string): Promise<WhoisOnline | null> {
    const record = await this.presence.onlineRecord(key).catch(() => {
      const local = this.roster.account(key);
      return local ? this.presence.record(local) : null;
    });
    if (!record) return null;
    return { name: record.name, since: record.since, lastActive: record.lastActive, away: record.away };
  }

  peerGone(peer: HubPeer): void {
    for (const member of this.roster.membersOf(peer)) {
      this.roster.remove(member);
      void this.presence.leave(this.presence.record(member));
    }
    this.addresses.peerGone(peer);
    this.reservations.peerGone(peer);
  }

  async users(): Promise<OnlineUser[]> {
    const online = await this.presence.onlineRecords();
    return online
      .sort((a, b) => (nameKey(a.name) < nameKey(b.name) ? -1 : 1))
      .map((r) => ({
        name: r.name,
        address: r.address,
        since: new Date(r.since).toISOString(),
        worker: r.worker,
        thread: r.thread,
        away: r.away,
        node: r.node,
      }));
  }

  /**
   * users.kick from any daemon: the member is taken off line in Redis (announced left) and, on
   * another daemon, its drop put on the stream in the same script; its node closes the session.
   */
  async kick(name: string, reason?: string): Promise<boolean> {
    const target = await this.presence.onlineRecord(nameKey(name));
    if (!target) return false;
    const line = kickedLine(reason);
    const why = "kicked by the operator";
    const local = target.node === this.node;
    const drop: ClusterEvent = { t: "drop", node: target.node, sid: target.sid, line, reason: why };
    if (!(await this.presence.takeOff(target, local ? undefined : drop))) return false;
    if (local) this.delivery.dropLocal(target.sid, line, why);
    this.opts.log("info", "kicked", { conn: target.sid, name: target.name, node: target.node, reason });
    primaryCounters.kicks++;
    return true;
  }

  /**
   * A ban or an account's removal: the members match picks are closed with line, on this daemon
   * at once, on the others as a kick is (taken off line in Redis with a drop event for their
   * node). Answers the names of all of them, once each is off line.
   */
  async disconnect(
    match: (member: { key: string; address: string }) => boolean,
    line: string,
    reason: string,
  ): Promise<string[]> {
    const names: string[] = [];
    for (const member of this.roster.members()) {
      if (!match(member)) continue;
      this.roster.remove(member);
      void this.presence.leave(this.presence.record(member));
      member.peer.send({ k: "drop", sid: member.sid, line, reason });
      names.push(member.name);
    }
    names.push(...(await this.disconnectElsewhere(match, line, reason)));
    return names;
  }

  /** The members of the other daemons match picks: the names of those taken off line. */
  private async disconnectElsewhere(
    match: (member: { key: string; address: string }) => boolean,
    line: string,
    reason: string,
  ): Promise<string[]> {
    const names: string[] = [];
    const online = await this.presence.onlineRecords().catch(() => []);
    for (const target of online) {
      if (target.node === this.node || !match(target)) continue;
      const drop: ClusterEvent = { t: "drop", node: target.node, sid: target.sid, line, reason };
      if (await this.presence.takeOff(target, drop).catch(() => false)) names.push(target.name);
    }
    return names;
  }

  async announce(text: string): Promise<number> {
    await this.publisher.publish({ t: "line", line: announceLine(text) });
    return this.presence.count();
  }

  /** Leaves the cluster: this node's members and lease go at once, so nobody waits for the lease to run out. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const resolve of this.beatWaiters.splice(0)) resolve();
    this.lease.stop();
    this.reader.stop();
    this.publisher.stop();
    await this.moderation.close();
    for (const member of this.roster.members()) {
      this.roster.remove(member);
      await this.presence.leave(this.presence.record(member));
    }
    await this.lease.release();
    this.redis.close();
  }

  // --- inside ---

  /**
   * A chat line or /me: published once, never resent; if it does not reach the stream, only its
   * author hears of it, once its outcome is known (chat-publisher.ts).
   */
  private line(member: Member, h: HistoryEntry): void {
    member.lastActive = h.time;
    const event: ClusterEvent = { t: "line", node: this.node, sid: member.sid, from: member.key, h };
    void this.publisher.line(event).then((outcome) => {
      // On the stream: delivered to everyone else, so its author hears nothing, as for any line.
      if (outcome === "sent") return;
      const line = outcome === "refused" ? CHAT_UNAVAILABLE : CHAT_MAYBE_UNSENT;
      member.peer.send({ k: "direct", sid: member.sid, line });
    });
    this.presence.touch(member);
  }

  private refuseMuted(member: Member): boolean {
    const mute = this.moderation.muteOf(member.key);
    if (!mute) return false;
    member.peer.send({ k: "direct", sid: member.sid, line: mutedLine(mute.until) });
    return true;
  }

  /** After each beat: a stuck reader reconnected, the members signed in again if this node was reaped, the missed leaves told, records whose write may have been lost written again. */
  private async afterBeat(lost: boolean): Promise<void> {
    try {
      if (this.stopped) return;
      this.reader.checkStuck();
      if (lost) await this.rejoin();
      await this.presence.tellPendingLeaves();
      await this.presence.writePending();
    } finally {
      const waiting = this.beatWaiters.splice(0);
      for (const resolve of waiting) resolve();
    }
  }

  /** Resolves once the next beat and its follow-up (a rejoin among them) are done, or at stop. */
  private afterNextBeat(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.beatWaiters.push(resolve));
  }

  /** This node was declared dead (paused past its lease) or forgotten (Redis lost its data): its members sign in again. */
  private async rejoin(): Promise<void> {
    const members = this.roster.members();
    this.opts.log("warn", "this daemon was declared dead by the cluster; signing its users in again", {
      node: this.node,
      users: members.length,
    });
    if (members.length === 0) return;
    const taken = await this.presence.rejoin(members);
    for (const key of taken) {
      const member = this.roster.account(key);
      if (member)
        this.delivery.dropLocal(
          member.sid,
          SIGNED_IN_ELSEWHERE,
          "signed in from elsewhere while this daemon was away",
        );
    }
  }
}
