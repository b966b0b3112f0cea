import type { Member } from "../hub/roster.ts";
import type { ClusterEvent } from "./cluster-events.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import { ACTIVITY_WRITE_MS, STREAM_MAXLEN } from "./cluster-limits.ts";
import { JOIN, LEAVE, LOCAL_TRUTH, PATCH, REJOIN } from "./cluster-scripts.ts";
import type { RedisLink, RedisReply } from "./redis-link.ts";

/** A member as the cluster's online hash keeps it. */
export interface OnlineRecord {
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

/** Where the cluster has a session of this node: still here, signed in elsewhere, off line, or its account gone. */
export type LocalStanding = "here" | "elsewhere" | "off" | "removed";

/** Missed leaves (and records to write again) told in one pipelined batch: one round trip for each this many. */
const LEAVE_BATCH = 500;

/** Sessions asked about in one script: a bounded reply, and Redis never busy for long. */
const TRUTH_BATCH = 1000;

/**
 * ClusterPresence is who is online in the whole cluster: a hash by account key in Redis, each
 * member with its node and session, changed only by scripts that also put the join or leave on
 * the stream. Leaves Redis could not be told are kept and told at the next beat that gets through.
 */
export class ClusterPresence {
  private readonly redis: RedisLink;
  private readonly keys: ClusterKeys;
  private readonly node: string;
  /**
   * Members that left while Redis could not be told: told at the next beat that gets through. By
   * session and account (pendingKey): one connection may sign in as another name before it is told.
   */
  private readonly pendingLeaves = new Map<string, OnlineRecord>();
  private readonly lastWritten = new Map<string, number>();
  /** Members whose record's last write may have run with its answer lost: written again at the next beat, by session. */
  private readonly pendingWrites = new Map<string, Member>();
  private snapshot: Promise<OnlineRecord[]> | null = null;

  constructor(redis: RedisLink, keys: ClusterKeys, node: string) {
    this.redis = redis;
    this.keys = keys;
    this.node = node;
  }

  record(member: Member): OnlineRecord {
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

  /** Signs the member in (JOIN): a previous session anywhere is taken over; answers it (null if none). */
  join(member: Member): Promise<RedisReply> {
    const { key, name, sid } = member;
    return this.redis.eval(
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
  }

  /** A member of this daemon leaves; if Redis cannot be told now, it is told at the next beat. */
  async leave(record: OnlineRecord, reason?: string): Promise<void> {
    this.lastWritten.delete(record.sid);
    this.pendingWrites.delete(record.sid);
    const event: ClusterEvent = { t: "line", left: record.name, node: this.node, sid: record.sid };
    if (reason) event.reason = reason;
    try {
      await this.redis.eval(
        LEAVE,
        [this.keys.online, this.keys.events],
        [this.keys.prefix, record.key, this.node, record.sid, JSON.stringify(event), STREAM_MAXLEN],
      );
      this.pendingLeaves.delete(pendingKey(record.sid, record.key));
    } catch {
      // Redis is away: the leave is told when it is back, so `who` does not keep a user who left.
      this.pendingLeaves.set(pendingKey(record.sid, record.key), record);
    }
  }

  /**
   * The leaves Redis missed, told now (each unless its session signed in again meanwhile:
   * cancelLeave), LEAVE_BATCH at a time: a batch is sent in one turn, so the client pipelines it
   * (one round trip a batch, not one a leave: this runs inside the beat, which must not pass the
   * lease after an outage that saw thousands leave). A batch that does not all get through stops
   * it; the next beat goes on.
   */
  async tellPendingLeaves(): Promise<void> {
    const pending = (record: OnlineRecord) =>
      this.pendingLeaves.get(pendingKey(record.sid, record.key)) === record;
    const records = [...this.pendingLeaves.values()];
    for (let at = 0; at < records.length; at += LEAVE_BATCH) {
      const batch = records.slice(at, at + LEAVE_BATCH).filter(pending);
      await Promise.all(batch.map((record) => this.leave(record)));
      if (batch.some(pending)) return;
    }
  }

  /**
   * The session signs in again as this account: a leave of it still to be told would take the new
   * sign-in off line. Another account's leave on the same session is still told.
   */
  cancelLeave(sid: string, key: string): void {
    this.pendingLeaves.delete(pendingKey(sid, key));
  }

  /**
   * Takes a member of any node off line (announced left): true if that session still held the
   * name. drop, for another node's member, is put on the stream in the same step (its node closes
   * the session), so the take-off and the drop happen both or neither.
   */
  async takeOff(target: OnlineRecord, drop?: ClusterEvent): Promise<boolean> {
    const event: ClusterEvent = { t: "line", left: target.name, node: target.node, sid: target.sid };
    const args = [
      this.keys.prefix,
      target.key,
      target.node,
      target.sid,
      JSON.stringify(event),
      STREAM_MAXLEN,
    ];
    const left = await this.redis.eval(
      LEAVE,
      [this.keys.online, this.keys.events],
      drop ? [...args, JSON.stringify(drop)] : args,
    );
    return Number(left) === 1;
  }

  /** This node's members signed in again after it was reaped; answers the keys taken meanwhile elsewhere. */
  async rejoin(members: Member[]): Promise<string[]> {
    return (await this.redis.eval(
      REJOIN,
      [this.keys.online, this.keys.events],
      [this.keys.prefix, this.node, STREAM_MAXLEN, ...members.map((m) => JSON.stringify(this.record(m)))],
    )) as string[];
  }

  /**
   * Where the cluster has each of these members of this node (LOCAL_TRUTH, a batch at a time);
   * null when this node holds no lease (the beat signs its members in again).
   */
  async standing(members: readonly Member[]): Promise<Map<Member, LocalStanding> | null> {
    const standing = new Map<Member, LocalStanding>();
    for (let at = 0; at < members.length; at += TRUTH_BATCH) {
      const batch = members.slice(at, at + TRUTH_BATCH);
      const reply = await this.redis.eval(
        LOCAL_TRUTH,
        [this.keys.nodes, this.keys.online, this.keys.accounts],
        [this.node, ...batch.map((m) => m.key)],
      );
      if (!Array.isArray(reply)) return null;
      batch.forEach((member, i) => {
        const text = String(reply[i] ?? "");
        if (text === "") standing.set(member, "removed");
        else if (text === "-") standing.set(member, "off");
        else {
          const record = JSON.parse(text) as OnlineRecord;
          const here = record.node === this.node && record.sid === member.sid;
          standing.set(member, here ? "here" : "elsewhere");
        }
      });
    }
    return standing;
  }

  /** The member's last activity reaches Redis now and then (for /whois on other daemons). */
  touch(member: Member): void {
    member.lastActive = Date.now();
    const last = this.lastWritten.get(member.sid) ?? 0;
    if (member.lastActive - last < ACTIVITY_WRITE_MS) return;
    this.lastWritten.set(member.sid, member.lastActive);
    this.write(member).catch(() => {});
  }

  /** The member's record rewritten (away, activity), if that session still holds the name. */
  async write(member: Member): Promise<void> {
    await this.redis.eval(
      PATCH,
      [this.keys.online],
      [member.key, this.node, member.sid, JSON.stringify(this.record(member))],
    );
    this.pendingWrites.delete(member.sid);
  }

  /**
   * A write of the member's record failed in a way that may have run on Redis (its answer lost):
   * Redis may hold what the member was told was not done. The record as this daemon keeps it is
   * written again at the next beat that gets through (writePending).
   */
  writeLater(member: Member): void {
    this.pendingWrites.set(member.sid, member);
  }

  /** The records writeLater kept, written now (each stays kept until a write of it goes through). */
  async writePending(): Promise<void> {
    const members = [...this.pendingWrites.values()];
    // In batches issued in one turn (one round trip each), as the missed leaves are: the beat waits for them.
    for (let at = 0; at < members.length; at += LEAVE_BATCH)
      await Promise.all(
        members.slice(at, at + LEAVE_BATCH).map((member) => this.write(member).catch(() => {})),
      );
  }

  async onlineRecord(key: string): Promise<OnlineRecord | null> {
    const text = (await this.redis.call(["HGET", this.keys.online, key])) as string | null;
    return text === null ? null : (JSON.parse(text) as OnlineRecord);
  }

  async isOnline(key: string): Promise<boolean> {
    return Number(await this.redis.call(["HEXISTS", this.keys.online, key])) === 1;
  }

  async count(): Promise<number> {
    return Number(await this.redis.call(["HLEN", this.keys.online]));
  }

  /** Everyone online in the cluster; requests in the same turn share one HVALS. */
  onlineRecords(): Promise<OnlineRecord[]> {
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
}

/** A pending leave's key: the session and the account (neither holds a NUL). */
function pendingKey(sid: string, key: string): string {
  return `${sid}\0${key}`;
}
