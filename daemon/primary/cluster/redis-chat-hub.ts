import type { AccountOp, AccountResults } from "../../../protocol/account-messages.ts";
import type { AddressBanRule } from "../../../protocol/ban-target.ts";
import {
  actionLine,
  announceLine,
  bannedLine,
  CHAT_UNAVAILABLE,
  chatLine,
  joinedLine,
  kickedLine,
  leftLine,
  mutedLine,
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
  type HubToThread,
  type JoinReply,
  type MsgReply,
  type RegistrationReply,
  type ThrottleReply,
  type WhoisOnline,
} from "../../../protocol/hub-messages.ts";
import { nameKey, sortNames } from "../../../protocol/names.ts";
import { PAIR_BASE_MS, PAIR_FORGET_MS, PAIR_MAX_MS } from "../../../protocol/sign-in-throttle.ts";
import type { OnlineUser } from "../../../protocol/rpc.ts";
import { AddressLimiter } from "../hub/address-limiter.ts";
import type { ChatHub, HubPeer } from "../hub/chat-hub.ts";
import { NameReservations } from "../hub/name-reservations.ts";
import { type Member, Roster } from "../hub/roster.ts";
import { SignInLimits } from "../hub/sign-in-limits.ts";
import { primaryCounters } from "../metrics.ts";
import { type ClusterEvent, parseEvent } from "./cluster-events.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import { BEAT, CLAIM_NODE, FAILED, JOIN, LEAVE, PAIR_DELAY, PATCH, REJOIN } from "./cluster-scripts.ts";
import { RedisAccounts } from "./redis-accounts.ts";
import { RedisModeration } from "./redis-moderation.ts";
import type { BlockingConnection, RedisLink, RedisReply } from "./redis-link.ts";

/** A node's lease on Redis's clock: a node silent this long is dead (its users announced left). */
export const LEASE_MS = 5000;
/** How often each node renews its lease, and reaps the dead. */
export const BEAT_INTERVAL_MS = 1000;
/** No node beat for this long: Redis (or everyone) stalled; leases get a grace period instead of being reaped. */
export const STALL_MS = 3000;
/** The stream keeps about this many events (MAXLEN ~): the history is read from it at start. */
export const STREAM_MAXLEN = 20_000;
/** A member's last activity is written to Redis at most this often (for /whois's idle time on other daemons). */
const ACTIVITY_WRITE_MS = 5000;
/**
 * A stream read returns at least every second (BLOCK 1000); one that has not for this long is
 * stuck on a connection that silently stopped, and the reader gets a new connection.
 */
const READER_STUCK_MS = 10_000;
/** History lines a session is shown when it signs in, as on one daemon. */
const JOIN_REPLAY = 20;

/** A member as the cluster's online hash keeps it. */
interface OnlineRecord {
  key: string;
  sid: string;
  node: string;
  name: string;
  address: string;
  since: number;
  away: string | null;
  lastActive: number;
  worker: number;
  thread: number;
}

/** Another live daemon of the cluster has this daemon's --node-id. */
export class NodeIdInUse extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NodeIdInUse";
  }
}

/** One live daemon, as status lists it. */
export interface ClusterNode {
  id: string;
  host: string;
  pid: number;
  users: number;
  lastSeenSeconds: number;
}

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
  log: (level: "info" | "debug" | "warn" | "error", msg: string, meta?: Record<string, unknown>) => void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * RedisChatHub is the chat of several daemons on one Redis (cluster.md). Each daemon keeps, as
 * the embedded hub does, its own sessions (the roster: which thread holds whom), the
 * per-address cap, the sign-in limits and name reservations; what the cluster shares lives in
 * Redis: the accounts (RedisAccounts), who is online (a hash by account key, each member with its
 * node), the nodes' leases, and one stream of events that every daemon reads in order with its
 * own cursor on a blocking connection of its own. A chat line is one XADD, sent once: if it
 * fails, its author is told, and it is never resent. Lines reach the local threads only from the
 * stream, so every daemon delivers the same lines in the same order, and the history (the
 * replay, /history) is what this daemon has read from the stream, the same everywhere.
 */
export class RedisChatHub implements ChatHub {
  readonly accounts: RedisAccounts;
  /** The cluster's bans and mutes (in Redis), checked here and changed by the control methods. */
  readonly moderation: RedisModeration;
  private readonly opts: RedisChatHubOptions;
  private readonly redis: RedisLink;
  private readonly keys: ClusterKeys;
  private readonly node: string;
  private readonly roster = new Roster();
  private readonly addresses: AddressLimiter;
  private readonly signIns: SignInLimits;
  private readonly reservations = new NameReservations();
  /** The chat lines read from the stream, oldest first, at most historyKeep. */
  private readonly historyRing: HistoryEntry[] = [];
  private motd: string[] = [];
  /** The last stream entry read. */
  private cursor = "0-0";
  private stopped = false;
  private registered = false;
  private beating = false;
  private beatTimer: NodeJS.Timeout | null = null;
  private beatFailing = false;
  /** Members that left while Redis could not be told: told at the next beat that gets through. */
  private readonly pendingLeaves = new Map<string, OnlineRecord>();
  private readonly lastWritten = new Map<string, number>();
  private view: { at: number; redisNow: number; online: number; nodes: (string | number)[][] } = {
    at: 0,
    redisNow: 0,
    online: 0,
    nodes: [],
  };
  private snapshot: Promise<OnlineRecord[]> | null = null;
  /** The reader's connection, and when its last read returned (or it started). */
  private reader: BlockingConnection | null = null;
  private lastRead = Date.now();

  private constructor(opts: RedisChatHubOptions) {
    this.opts = opts;
    this.redis = opts.redis;
    this.keys = opts.keys;
    this.node = opts.node;
    this.accounts = new RedisAccounts(opts.redis, opts.keys);
    this.moderation = new RedisModeration({
      redis: opts.redis,
      keys: opts.keys,
      streamMaxLen: STREAM_MAXLEN,
      log: opts.log,
    });
    this.addresses = new AddressLimiter(() => this.opts.maxPerAddress);
    this.signIns = new SignInLimits(opts.registrationsPerHour ?? 0, Date.now);
  }

  /** Reads the history from the stream, takes this node's lease, and starts the reader and the heartbeat. */
  static async open(opts: RedisChatHubOptions): Promise<RedisChatHub> {
    const hub = new RedisChatHub(opts);
    await hub.claimNodeId();
    await hub.loadHistory();
    // After the cursor is set: a change made from now on is on the stream past it.
    await hub.moderation.open();
    await hub.beat();
    hub.reader = await opts.redis.blockingConnection();
    void hub.readLoop();
    hub.beatTimer = setInterval(() => void hub.beatSafely(), BEAT_INTERVAL_MS);
    hub.beatTimer.unref();
    return hub;
  }

  /**
   * Two daemons under one node id would share a lease and a member list: a live one's id is refused;
   * an expired one's leftover members (nobody reaped them) are announced left before the id is used.
   */
  private async claimNodeId(): Promise<void> {
    let [lease, now] = await this.leaseOf(this.node);
    if (lease > now && lease - now <= LEASE_MS && (await this.heldByEndedProcessHere())) {
      // This daemon's previous process on this host (kill -9, a crash; systemd starts it again):
      // wait for its lease to run out rather than exit, at most one lease.
      this.opts.log(
        "info",
        "waiting for the lease of this node id's previous process, which ended without leaving",
        {
          node: this.node,
          ms: lease - now,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, lease - now + 100));
      [lease, now] = await this.leaseOf(this.node);
    }
    if (lease > now)
      throw new NodeIdInUse(
        `the node id ${this.node} is held by a live daemon of the cluster ${this.opts.cluster} (its lease ends in ${Math.ceil((lease - now) / 1000)} s); give each daemon its own --node-id`,
      );
    const left = Number(
      await this.redis.eval(
        CLAIM_NODE,
        [this.keys.nodes, this.keys.online, this.keys.events],
        [this.keys.prefix, this.node, STREAM_MAXLEN],
      ),
    );
    if (left === -1)
      throw new NodeIdInUse(
        `the node id ${this.node} was taken by another daemon of the cluster ${this.opts.cluster} as this one started; give each daemon its own --node-id`,
      );
    if (left > 0)
      this.opts.log("info", "reaped the users a previous daemon under this node id left behind", {
        node: this.node,
        users: left,
      });
  }

  /** A node's lease end and Redis's clock now, ms (0: no lease). */
  private async leaseOf(node: string): Promise<[number, number]> {
    const [lease, time] = await Promise.all([
      this.redis.call(["ZSCORE", this.keys.nodes, node]),
      this.redis.call(["TIME"]) as Promise<string[]>,
    ]);
    return [lease === null ? 0 : Number(lease), Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000)];
  }

  /** Whether this node id was last beaten by a process of this host that no longer exists. */
  private async heldByEndedProcessHere(): Promise<boolean> {
    const [host, pid] = (await this.redis.call(["HMGET", this.keys.node(this.node), "host", "pid"])) as (
      | string
      | null
    )[];
    const holder = Number(pid);
    if (host !== this.opts.host || !Number.isInteger(holder) || holder <= 0 || holder === process.pid)
      return false;
    try {
      process.kill(holder, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "ESRCH";
    }
  }

  /** Users online in the whole cluster, as of the last heartbeat (and at least this daemon's own). */
  get onlineCount(): number {
    return Math.max(this.view.online, this.roster.size);
  }

  clusterStatus(): ClusterStatus {
    const sinceBeat = Date.now() - this.view.at;
    return {
      name: this.opts.cluster,
      redis: { url: this.redis.url, connected: this.redis.connected },
      nodes: this.view.nodes.map(([id, host, pid, users, seen]) => ({
        id: String(id),
        host: String(host),
        pid: Number(pid),
        users: Number(users),
        lastSeenSeconds: Math.max(0, Math.round((this.view.redisNow - Number(seen) + sinceBeat) / 1000)),
      })),
    };
  }

  // --- what stays per daemon, as in the embedded hub ---

  admit(peer: HubPeer, address: string): boolean {
    return this.addresses.admit(peer, address);
  }

  release(peer: HubPeer, address: string): void {
    this.addresses.release(peer, address);
  }

  /**
   * The sign-in throttle: the account+address delay is the cluster's (failures counted in Redis,
   * so guessing on several daemons in turn is no faster than on one); the bound on addresses new
   * to the account is this daemon's.
   */
  async throttle(key: string, address: string, lastAddress: string | null): Promise<ThrottleReply> {
    const local = this.signIns.throttle(key, address, lastAddress);
    if (local.retryAfterMs !== undefined) return local;
    const shared = Number(
      await this.redis
        .eval(PAIR_DELAY, [this.keys.pair(key, address)], [PAIR_BASE_MS, PAIR_MAX_MS])
        .catch(() => 0),
    );
    return { delayMs: Math.max(local.delayMs, shared) };
  }

  /** Settles once Redis has counted it (the thread waits, so the next guess anywhere already waits longer). */
  async failed(key: string, address: string): Promise<void> {
    this.signIns.failed(key, address);
    await this.redis.eval(FAILED, [this.keys.pair(key, address)], [PAIR_FORGET_MS]).catch(() => {});
  }

  registration(address: string, spend: boolean): RegistrationReply {
    return this.signIns.registration(address, spend);
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
    return newestWithin(this.historyRing.slice(-n), HISTORY_REPLY_BYTES);
  }

  account(call: AccountOp): Promise<AccountResults[AccountOp["op"]]> {
    return this.accounts.run(call);
  }

  // --- the cluster's ---

  async reserve(peer: HubPeer, sid: string, key: string): Promise<boolean> {
    if (this.roster.account(key)) return false;
    if (Number(await this.redis.call(["HEXISTS", this.keys.online, key])) === 1) return false;
    return this.reservations.reserve(peer, sid, key);
  }

  async join(peer: HubPeer, sid: string, key: string, name: string, address: string): Promise<JoinReply> {
    const refused = this.refusal(key, address);
    const none = { online: [], away: [], history: [], omitted: 0, motd: [] };
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
    try {
      previous = await this.redis.eval(
        JOIN,
        [this.keys.online, this.keys.events],
        [
          this.keys.prefix,
          key,
          JSON.stringify(this.record(member)),
          this.node,
          sid,
          JSON.stringify({ t: "line", joined: name, node: this.node, sid } satisfies ClusterEvent),
          STREAM_MAXLEN,
        ],
      );
    } catch (error) {
      this.opts.log("warn", "sign-in refused: Redis cannot be reached", {
        conn: sid,
        name,
        error: (error as Error).message,
      });
      return { ...none, refused: SIGN_IN_UNAVAILABLE };
    }
    this.reservations.signedIn(sid, key);
    this.signIns.signedIn(key, address);
    this.redis.call(["DEL", this.keys.pair(key, address)]).catch(() => {});
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
    const online = await this.onlineRecords().catch(() => null);
    // The replay is what this daemon has read from the stream when the reply leaves: every later
    // line reaches the new session live, every earlier one is in the replay, none in both.
    const replay = this.history(JOIN_REPLAY);
    return {
      online: online ? sortNames(online.map((r) => r.name)) : this.roster.names(),
      away: online ? online.filter((r) => r.away !== null).map((r) => r.name) : this.roster.awayNames(),
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
    await this.leaveCluster(this.record(member), reason);
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
      target = await this.onlineRecord(nameKey(to));
    } catch {
      return { ok: false, refused: CHAT_UNAVAILABLE };
    }
    if (!target) return { ok: false };
    this.touch(from);
    const line = privateIn(from.name, text);
    const author = { key: from.key, name: from.name };
    if (target.node === this.node) {
      const local = this.roster.session(target.sid);
      if (!local) return { ok: false };
      local.peer.send({ k: "direct", sid: local.sid, line, from: author });
    } else {
      const event: ClusterEvent = { t: "direct", node: target.node, sid: target.sid, line, from: author };
      try {
        await this.publish(event);
      } catch {
        return { ok: false, refused: CHAT_UNAVAILABLE };
      }
    }
    return target.away === null
      ? { ok: true, name: target.name }
      : { ok: true, name: target.name, away: target.away };
  }

  async who(): Promise<string[]> {
    const online = await this.onlineRecords().catch(() => null);
    return online ? sortNames(online.map((r) => r.name)) : this.roster.names();
  }

  async awayNames(): Promise<string[]> {
    const online = await this.onlineRecords().catch(() => null);
    return online ? online.filter((r) => r.away !== null).map((r) => r.name) : this.roster.awayNames();
  }

  async away(_peer: HubPeer, sid: string, text: string | null): Promise<AwayReply> {
    const member = this.roster.session(sid);
    if (!member) return { was: null };
    const was = member.away;
    member.away = text;
    member.lastActive = Date.now();
    await this.writeMember(member).catch(() => {});
    return { was };
  }

  async whois(key: string): Promise<WhoisOnline | null> {
    const record = await this.onlineRecord(key).catch(() => {
      const local = this.roster.account(key);
      return local ? this.record(local) : null;
    });
    if (!record) return null;
    return { name: record.name, since: record.since, lastActive: record.lastActive, away: record.away };
  }

  peerGone(peer: HubPeer): void {
    for (const member of this.roster.membersOf(peer)) {
      this.roster.remove(member);
      void this.leaveCluster(this.record(member));
    }
    this.addresses.peerGone(peer);
    this.reservations.peerGone(peer);
  }

  async users(): Promise<OnlineUser[]> {
    const online = await this.onlineRecords();
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

  /** users.kick from any daemon: the member is taken off line in Redis (announced left), then its node closes the session. */
  async kick(name: string, reason?: string): Promise<boolean> {
    const target = await this.onlineRecord(nameKey(name));
    if (!target) return false;
    const left = await this.redis.eval(
      LEAVE,
      [this.keys.online, this.keys.events],
      [
        this.keys.prefix,
        target.key,
        target.node,
        target.sid,
        JSON.stringify({
          t: "line",
          left: target.name,
          node: target.node,
          sid: target.sid,
        } satisfies ClusterEvent),
        STREAM_MAXLEN,
      ],
    );
    if (Number(left) !== 1) return false;
    const line = kickedLine(reason);
    const why = "kicked by the operator";
    if (target.node === this.node) this.dropLocal(target.sid, line, why);
    else await this.publish({ t: "drop", node: target.node, sid: target.sid, line, reason: why });
    this.opts.log("info", "kicked", { conn: target.sid, name: target.name, node: target.node, reason });
    primaryCounters.kicks++;
    return true;
  }

  /**
   * A ban or an account's removal: the members match picks are closed with line, on this daemon
   * at once, on the others as a kick is (taken off line in Redis, then a drop event for their
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
      void this.leaveCluster(this.record(member));
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
    const online = await this.onlineRecords().catch(() => []);
    for (const target of online) {
      if (target.node === this.node || !match(target)) continue;
      const event: ClusterEvent = { t: "line", left: target.name, node: target.node, sid: target.sid };
      const left = await this.redis
        .eval(
          LEAVE,
          [this.keys.online, this.keys.events],
          [this.keys.prefix, target.key, target.node, target.sid, JSON.stringify(event), STREAM_MAXLEN],
        )
        .catch(() => 0);
      if (Number(left) !== 1) continue;
      names.push(target.name);
      await this.publish({ t: "drop", node: target.node, sid: target.sid, line, reason }).catch(() => {});
    }
    return names;
  }

  async announce(text: string): Promise<number> {
    await this.publish({ t: "line", line: announceLine(text) });
    return Number(await this.redis.call(["HLEN", this.keys.online]));
  }

  /** Leaves the cluster: this node's members and lease go at once, so nobody waits for the lease to run out. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.beatTimer) clearInterval(this.beatTimer);
    await this.moderation.close();
    for (const member of this.roster.members()) {
      this.roster.remove(member);
      await this.leaveCluster(this.record(member));
    }
    await this.redis.call(["ZREM", this.keys.nodes, this.node]).catch(() => {});
    await this.redis.call(["DEL", this.keys.node(this.node), this.keys.members(this.node)]).catch(() => {});
    this.redis.close();
  }

  // --- inside ---

  private record(member: Member): OnlineRecord {
    return {
      key: member.key,
      sid: member.sid,
      node: this.node,
      name: member.name,
      address: member.address,
      since: member.since.getTime(),
      away: member.away,
      lastActive: member.lastActive,
      worker: member.peer.worker,
      thread: member.peer.thread,
    };
  }

  /** A chat line or /me: one XADD, never resent; if it fails, only its author hears of it. */
  private line(member: Member, h: HistoryEntry): void {
    member.lastActive = h.time;
    const event: ClusterEvent = { t: "line", node: this.node, sid: member.sid, from: member.key, h };
    this.publish(event).catch(() => {
      member.peer.send({ k: "direct", sid: member.sid, line: CHAT_UNAVAILABLE });
    });
    this.touch(member);
  }

  private publish(event: ClusterEvent): Promise<RedisReply> {
    return this.redis.call([
      "XADD",
      this.keys.events,
      "MAXLEN",
      "~",
      STREAM_MAXLEN,
      "*",
      "e",
      JSON.stringify(event),
    ]);
  }

  /** The member's last activity reaches Redis now and then (for /whois on other daemons). */
  private touch(member: Member): void {
    member.lastActive = Date.now();
    const last = this.lastWritten.get(member.sid) ?? 0;
    if (member.lastActive - last < ACTIVITY_WRITE_MS) return;
    this.lastWritten.set(member.sid, member.lastActive);
    this.writeMember(member).catch(() => {});
  }

  private async writeMember(member: Member): Promise<void> {
    await this.redis.eval(
      PATCH,
      [this.keys.online],
      [member.key, this.node, member.sid, JSON.stringify(this.record(member))],
    );
  }

  private async leaveCluster(record: OnlineRecord, reason?: string): Promise<void> {
    this.lastWritten.delete(record.sid);
    const event: ClusterEvent = { t: "line", left: record.name, node: this.node, sid: record.sid };
    if (reason) event.reason = reason;
    try {
      await this.redis.eval(
        LEAVE,
        [this.keys.online, this.keys.events],
        [this.keys.prefix, record.key, this.node, record.sid, JSON.stringify(event), STREAM_MAXLEN],
      );
      this.pendingLeaves.delete(record.sid);
    } catch {
      // Redis is away: the leave is told when it is back, so `who` does not keep a user who left.
      this.pendingLeaves.set(record.sid, record);
    }
  }

  private async onlineRecord(key: string): Promise<OnlineRecord | null> {
    const text = (await this.redis.call(["HGET", this.keys.online, key])) as string | null;
    return text === null ? null : (JSON.parse(text) as OnlineRecord);
  }

  /** Everyone online in the cluster; requests in the same turn share one HVALS. */
  private onlineRecords(): Promise<OnlineRecord[]> {
    if (!this.snapshot) {
      this.snapshot = (this.redis.call(["HVALS", this.keys.online]) as Promise<string[]>).then((texts) =>
        texts.map((text) => JSON.parse(text) as OnlineRecord),
      );
      const clear = () => {
        this.snapshot = null;
      };
      this.snapshot.then(clear, clear);
    }
    return this.snapshot.then((records) => records.map((r) => ({ ...r })));
  }

  private refuseMuted(member: Member): boolean {
    const mute = this.moderation.muteOf(member.key);
    if (!mute) return false;
    member.peer.send({ k: "direct", sid: member.sid, line: mutedLine(mute.until) });
    return true;
  }

  private dropLocal(sid: string, line: string, reason: string): void {
    const member = this.roster.session(sid);
    if (!member) return;
    this.roster.remove(member);
    member.peer.send({ k: "drop", sid, line, reason });
  }

  /** One message per thread that holds members, as the embedded hub does. */
  private broadcast(line: string, except: string | null, from?: string): void {
    const message: HubToThread =
      from === undefined ? { k: "deliver", line, except } : { k: "deliver", line, except, from };
    for (const peer of this.roster.peers()) peer.send(message);
  }

  /** The history at start: the chat lines among the stream's newest entries; the cursor at the newest. */
  private async loadHistory(): Promise<void> {
    const entries = (await this.redis.call([
      "XREVRANGE",
      this.keys.events,
      "+",
      "-",
      "COUNT",
      STREAM_MAXLEN,
    ])) as [string, unknown][];
    if (entries.length > 0) this.cursor = entries[0]![0];
    for (let i = entries.length - 1; i >= 0; i--) {
      const event = parseEvent(entries[i]![1]);
      if (event?.t === "line" && event.h) this.remember(event.h);
    }
  }

  private remember(h: HistoryEntry): void {
    this.historyRing.push(h);
    if (this.historyRing.length > this.opts.historyKeep)
      this.historyRing.splice(0, this.historyRing.length - this.opts.historyKeep);
  }

  /** Reads the stream for ever from the cursor, on its own connection; a failed read is tried again from the same cursor. */
  private async readLoop(): Promise<void> {
    let failing = false;
    while (!this.stopped) {
      let reply: RedisReply;
      try {
        if (!this.reader) this.reader = await this.redis.blockingConnection();
        reply = await this.reader.read([
          "XREAD",
          "BLOCK",
          "1000",
          "COUNT",
          "1000",
          "STREAMS",
          this.keys.events,
          this.cursor,
        ]);
        this.lastRead = Date.now();
        failing = false;
      } catch (error) {
        if (this.stopped) return;
        if (!failing)
          this.opts.log("warn", "cannot read the cluster's stream; retrying", {
            error: (error as Error).message,
          });
        failing = true;
        await sleep(200);
        continue;
      }
      if (!Array.isArray(reply)) continue;
      for (const stream of reply as [string, [string, unknown][]][]) {
        for (const [id, fields] of stream[1]) {
          this.cursor = id;
          const event = parseEvent(fields);
          if (event) this.apply(event);
        }
      }
    }
  }

  /** What a stream event does on this daemon: lines to every local thread with members, drops and directs to their session. */
  private apply(event: ClusterEvent): void {
    switch (event.t) {
      case "line": {
        const except = event.node === this.node ? (event.sid ?? null) : null;
        if (event.h) {
          this.remember(event.h);
          const line = event.h.action
            ? actionLine(event.h.name, event.h.text)
            : chatLine(event.h.name, event.h.text);
          this.broadcast(line, except, event.from);
          return;
        }
        const line =
          event.line ??
          (event.joined !== undefined
            ? joinedLine(event.joined)
            : leftLine(event.left ?? "?", event.reason || undefined));
        this.broadcast(line, except);
        return;
      }
      case "drop":
        if (event.node !== this.node) return;
        if (event.takeover) this.dropLocal(event.sid, SIGNED_IN_ELSEWHERE, "signed in from elsewhere");
        else this.dropLocal(event.sid, event.line ?? kickedLine(), event.reason ?? "kicked by the operator");
        return;
      case "moderation":
        this.moderation.changed();
        return;
      case "direct": {
        if (event.node !== this.node) return;
        const member = this.roster.session(event.sid);
        if (member) member.peer.send({ k: "direct", sid: event.sid, line: event.line, from: event.from });
        return;
      }
    }
  }

  private async beatSafely(): Promise<void> {
    if (this.beating || this.stopped) return;
    this.beating = true;
    try {
      await this.beat();
      if (this.beatFailing) this.opts.log("info", "cluster heartbeat back", { node: this.node });
      this.beatFailing = false;
    } catch (error) {
      if (!this.beatFailing)
        this.opts.log("warn", "cluster heartbeat failed; retrying", {
          node: this.node,
          error: (error as Error).message,
        });
      this.beatFailing = true;
    } finally {
      this.beating = false;
    }
  }

  /** Renews the lease, reaps dead nodes (BEAT), signs the members in again if this node was reaped, tells the leaves Redis missed. */
  private async beat(): Promise<void> {
    const reply = (await this.redis.eval(
      BEAT,
      [
        this.keys.nodes,
        this.keys.tick,
        this.keys.grace,
        this.keys.node(this.node),
        this.keys.online,
        this.keys.events,
      ],
      [
        this.keys.prefix,
        this.node,
        LEASE_MS,
        STALL_MS,
        this.registered ? 1 : 0,
        this.opts.host,
        process.pid,
        this.roster.size,
        STREAM_MAXLEN,
      ],
    )) as [string, number, number, (string | number)[][], string[]];
    const [status, redisNow, online, nodes, reaped] = reply;
    this.registered = true;
    this.checkReader();
    this.view = { at: Date.now(), redisNow: Number(redisNow), online: Number(online), nodes };
    if (reaped.length > 0)
      this.opts.log("warn", "daemons declared dead (lease expired); their users left", {
        nodes: reaped.join(","),
      });
    if (status === "lost") await this.rejoin();
    for (const record of [...this.pendingLeaves.values()]) await this.leaveCluster(record);
  }

  /**
   * Redis answers the heartbeat but the reader has not returned for READER_STUCK_MS: its
   * connection silently stopped (a pitfall of pub/sub-based clusters too). It gets a new one and
   * reads on from its cursor, so nothing is missed.
   */
  private checkReader(): void {
    const silent = Date.now() - this.lastRead;
    if (silent < READER_STUCK_MS || !this.reader) return;
    this.opts.log("warn", "the cluster's stream reader is stuck; reconnecting it", {
      node: this.node,
      silentMs: silent,
    });
    this.reader.close();
    this.reader = null;
    this.lastRead = Date.now();
  }

  /** This node was declared dead (paused past its lease) or forgotten (Redis lost its data): its members sign in again. */
  private async rejoin(): Promise<void> {
    const members = this.roster.members();
    this.opts.log("warn", "this daemon was declared dead by the cluster; signing its users in again", {
      node: this.node,
      users: members.length,
    });
    if (members.length === 0) return;
    const taken = (await this.redis.eval(
      REJOIN,
      [this.keys.online, this.keys.events],
      [this.keys.prefix, this.node, STREAM_MAXLEN, ...members.map((m) => JSON.stringify(this.record(m)))],
    )) as string[];
    for (const key of taken) {
      const member = this.roster.account(key);
      if (member)
        this.dropLocal(
          member.sid,
          SIGNED_IN_ELSEWHERE,
          "signed in from elsewhere while this daemon was away",
        );
    }
  }
}
