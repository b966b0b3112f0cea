import { BEAT_INTERVAL_MS, type ClusterLog, LEASE_MS, STALL_MS, STREAM_MAXLEN } from "./cluster-limits.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import { BEAT, CLAIM_NODE, RELEASE_NODE } from "./cluster-scripts.ts";
import type { RedisLink } from "./redis-link.ts";

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

export interface NodeLeaseOptions {
  redis: RedisLink;
  keys: ClusterKeys;
  cluster: string;
  node: string;
  host: string;
  log: ClusterLog;
  /** How many users this daemon holds (written with each beat). */
  users: () => number;
  /**
   * After each beat that got through: lost is true when the cluster had declared this node
   * dead (or Redis forgot it); its members must sign in again.
   */
  afterBeat: (lost: boolean) => Promise<void>;
}

/**
 * NodeLease is this daemon's liveness in the cluster: the node id claimed at start, a lease on
 * Redis's clock renewed every BEAT_INTERVAL_MS by a script that also reaps the nodes whose lease
 * ran out (one daemon wins each), and the view of the live nodes that status shows.
 */
export class NodeLease {
  private readonly opts: NodeLeaseOptions;
  private readonly redis: RedisLink;
  private readonly keys: ClusterKeys;
  private registered = false;
  private beating = false;
  private failing = false;
  private timer: NodeJS.Timeout | null = null;
  private view: { at: number; redisNow: number; online: number; nodes: (string | number)[][] } = {
    at: 0,
    redisNow: 0,
    online: 0,
    nodes: [],
  };

  constructor(opts: NodeLeaseOptions) {
    this.opts = opts;
    this.redis = opts.redis;
    this.keys = opts.keys;
  }

  /** Redis's clock now (ms), from the last beat's TIME and the time since; 0 before the first beat. */
  redisNow(): number {
    return this.view.at === 0 ? 0 : this.view.redisNow + (Date.now() - this.view.at);
  }

  /** Users online in the whole cluster, as of the last beat. */
  get online(): number {
    return this.view.online;
  }

  /** The live nodes as of the last beat, each seen how long ago. */
  nodes(): ClusterNode[] {
    const sinceBeat = Date.now() - this.view.at;
    return this.view.nodes.map(([id, host, pid, users, seen]) => ({
      id: String(id),
      host: String(host),
      pid: Number(pid),
      users: Number(users),
      lastSeenSeconds: Math.max(0, Math.round((this.view.redisNow - Number(seen) + sinceBeat) / 1000)),
    }));
  }

  /** Beats every BEAT_INTERVAL_MS from now on (the first beat is the caller's). */
  start(): void {
    this.timer = setInterval(() => void this.beatSafely(), BEAT_INTERVAL_MS);
    this.timer.unref();
  }

  /** No more beats. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The lease, the node's records and any member of it still listed online gone from Redis. */
  async release(): Promise<void> {
    const node = this.opts.node;
    await this.redis
      .eval(
        RELEASE_NODE,
        [
          this.keys.nodes,
          this.keys.online,
          this.keys.events,
          this.keys.node(node),
          this.keys.published(node),
        ],
        [this.keys.prefix, node, STREAM_MAXLEN],
      )
      .catch(() => {});
  }

  /**
   * Two daemons under one node id would share a lease and a member list: a live one's id is refused;
   * an expired one's leftover members (nobody reaped them) are announced left before the id is used.
   */
  async claim(): Promise<void> {
    const node = this.opts.node;
    let [lease, now] = await this.leaseOf(node);
    if (lease > now && lease - now <= LEASE_MS && (await this.heldByEndedProcessHere())) {
      // This daemon's previous process on this host (kill -9, a crash; systemd starts it again):
      // wait for its lease to run out rather than exit, at most one lease.
      this.opts.log(
        "info",
        "waiting for the lease of this node id's previous process, which ended without leaving",
        { node, ms: lease - now },
      );
      await new Promise((resolve) => setTimeout(resolve, lease - now + 100));
      [lease, now] = await this.leaseOf(node);
    }
    if (lease > now)
      throw new NodeIdInUse(
        `the node id ${node} is held by a live daemon of the cluster ${this.opts.cluster} (its lease ends in ${Math.ceil((lease - now) / 1000)} s); give each daemon its own --node-id`,
      );
    const left = Number(
      await this.redis.eval(
        CLAIM_NODE,
        [this.keys.nodes, this.keys.online, this.keys.events],
        [this.keys.prefix, node, STREAM_MAXLEN, LEASE_MS, this.opts.host, process.pid],
      ),
    );
    if (left === -1)
      throw new NodeIdInUse(
        `the node id ${node} was taken by another daemon of the cluster ${this.opts.cluster} as this one started; give each daemon its own --node-id`,
      );
    if (left > 0)
      this.opts.log("info", "reaped the users a previous daemon under this node id left behind", {
        node,
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
    const [host, pid] = (await this.redis.call(["HMGET", this.keys.node(this.opts.node), "host", "pid"])) as (
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

  private async beatSafely(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await this.beat();
      if (this.failing) this.opts.log("info", "cluster heartbeat back", { node: this.opts.node });
      this.failing = false;
    } catch (error) {
      if (!this.failing)
        this.opts.log("warn", "cluster heartbeat failed; retrying", {
          node: this.opts.node,
          error: (error as Error).message,
        });
      this.failing = true;
    } finally {
      this.beating = false;
    }
  }

  /** Renews the lease and reaps dead nodes (BEAT), then hands over to afterBeat. */
  async beat(): Promise<void> {
    const node = this.opts.node;
    const reply = (await this.redis.eval(
      BEAT,
      [
        this.keys.nodes,
        this.keys.tick,
        this.keys.grace,
        this.keys.node(node),
        this.keys.online,
        this.keys.events,
      ],
      [
        this.keys.prefix,
        node,
        LEASE_MS,
        STALL_MS,
        this.registered ? 1 : 0,
        this.opts.host,
        process.pid,
        this.opts.users(),
        STREAM_MAXLEN,
      ],
    )) as [string, number, number, (string | number)[][], string[]];
    const [status, redisNow, online, nodes, reaped] = reply;
    this.registered = true;
    this.view = { at: Date.now(), redisNow: Number(redisNow), online: Number(online), nodes };
    if (reaped.length > 0)
      this.opts.log("warn", "daemons declared dead (lease expired); their users left", {
        nodes: reaped.join(","),
      });
    await this.opts.afterBeat(status === "lost");
  }
}
