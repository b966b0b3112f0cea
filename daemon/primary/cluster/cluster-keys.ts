/**
 * The Redis keys of one cluster (--cluster NAME), all under `tsd:{NAME}:`: the braces are a hash
 * tag, so on Redis Cluster every key of a cluster is in one slot and the scripts may touch them all.
 */
export class ClusterKeys {
  readonly prefix: string;
  /** key -> the account record (identities.json's, as JSON). */
  readonly accounts: string;
  /** look-alike form -> the key of the account that has it. */
  readonly skeletons: string;
  /** address -> the name last signed in from it. */
  readonly addresses: string;
  /** key -> the member signed in (node, sid, name, address, since, away, ...), as JSON. */
  readonly online: string;
  /** node -> its lease's end, ms on Redis's clock. */
  readonly nodes: string;
  /** When any node last beat (Redis's clock): a long gap is a Redis stall, not dead nodes. */
  readonly tick: string;
  /** No node is reaped before this time (after a stall). */
  readonly grace: string;
  /** The one stream every daemon reads: chat lines, joins, leaves, drops, private messages. */
  readonly events: string;
  /** ban key (`a ADDRESS` or `n NAMEKEY`) -> the ban (target, reason, createdAt, until), as JSON. */
  readonly bans: string;
  /** account key -> the mute (name, createdAt, until), as JSON. */
  readonly mutes: string;
  /** Counts the changes to bans and mutes: a daemon whose copy is of another count reads them again. */
  readonly moderationVersion: string;

  constructor(cluster: string) {
    this.prefix = `tsd:{${cluster}}:`;
    this.accounts = `${this.prefix}accounts`;
    this.skeletons = `${this.prefix}skeletons`;
    this.addresses = `${this.prefix}addresses`;
    this.online = `${this.prefix}online`;
    this.nodes = `${this.prefix}nodes`;
    this.tick = `${this.prefix}tick`;
    this.grace = `${this.prefix}grace`;
    this.events = `${this.prefix}events`;
    this.bans = `${this.prefix}bans`;
    this.mutes = `${this.prefix}mutes`;
    this.moderationVersion = `${this.prefix}moderation-version`;
  }

  /** A node's host, pid, users and last beat. */
  node(id: string): string {
    return `${this.prefix}node:${id}`;
  }

  /** Failed sign-ins of an account from an address ("failures:last ms"), the shared throttle. */
  pair(key: string, address: string): string {
    return `${this.prefix}failed:${key}:${address}`;
  }

  /**
   * What a daemon's process published (its boot id, the highest line number that reached the
   * stream) and the fence (no line numbered at or below it is published any more): how a line
   * whose answer a lost connection cut off is found out (chat-publisher.ts).
   */
  published(id: string): string {
    return `${this.prefix}published:${id}`;
  }
}
