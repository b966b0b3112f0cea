import {
  AddressBanList,
  type AddressBanRule,
  BadBanTarget,
  type BanTarget,
  parseBanTarget,
} from "../../../protocol/ban-target.ts";
import type { BanEntry } from "../../../protocol/rpc.ts";
import { MAX_BANS, MAX_MUTES } from "../../shared/limits.ts";
import {
  active,
  type Ban,
  type BansAndMutes,
  banEntry,
  banKey,
  expiryTimer,
  ModerationListFull,
  type Mute,
} from "../hub/moderation.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import { MODERATION_PUT, MODERATION_READ, MODERATION_TAKE } from "./cluster-scripts.ts";
import type { RedisLink, Script } from "./redis-link.ts";

/**
 * How often a daemon compares the version key with its copy's. The stream tells every change at
 * once; this only catches what the stream cannot: a daemon that fell more than the stream's
 * length behind, or a Redis that came back with other data (restored, or without persistence).
 */
export const MODERATION_POLL_MS = 5000;

/** A ban as the cluster's hash keeps it: times in ms since the epoch. */
interface BanRecord {
  target: string;
  reason: string | null;
  createdAt: number;
  until: number | null;
}

/** A mute as the cluster's hash keeps it, under the account's key. */
interface MuteRecord {
  name: string;
  createdAt: number;
  until: number | null;
}

type Log = (level: "info" | "debug" | "warn" | "error", msg: string, meta?: Record<string, unknown>) => void;

export interface RedisModerationOptions {
  redis: RedisLink;
  keys: ClusterKeys;
  /** The stream's bound, for the change events (XADD MAXLEN ~). */
  streamMaxLen: number;
  log: Log;
  now?: () => number;
}

const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/** The hash's [field, value, ...] as a map of records that parse; bad ones are skipped (and counted). */
function readHash<T>(
  flat: unknown,
  parse: (field: string, record: unknown) => T | null,
): [Map<string, T>, number] {
  const out = new Map<string, T>();
  let bad = 0;
  if (!Array.isArray(flat)) return [out, 0];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    let record: unknown;
    try {
      record = JSON.parse(String(flat[i + 1]));
    } catch {
      record = null;
    }
    const parsed = parse(String(flat[i]), record);
    if (parsed === null) bad++;
    else out.set(String(flat[i]), parsed);
  }
  return [out, bad];
}

function parseBan(_field: string, record: unknown): Ban | null {
  const r = record as Partial<BanRecord> | null;
  if (typeof r !== "object" || r === null || typeof r.target !== "string" || !isTime(r.createdAt))
    return null;
  if (!(r.until === null || isTime(r.until)) || !(r.reason === null || typeof r.reason === "string"))
    return null;
  let target: BanTarget;
  try {
    target = parseBanTarget(r.target);
  } catch (error) {
    if (error instanceof BadBanTarget) return null;
    throw error;
  }
  return { target, reason: r.reason, createdAt: r.createdAt, until: r.until };
}

function parseMute(key: string, record: unknown): Mute | null {
  const r = record as Partial<MuteRecord> | null;
  if (typeof r !== "object" || r === null || typeof r.name !== "string" || !isTime(r.createdAt)) return null;
  if (!(r.until === null || isTime(r.until))) return null;
  return { key, name: r.name, createdAt: r.createdAt, until: r.until };
}

/**
 * The cluster's bans and mutes (--hub redis): kept in Redis, in two hashes under the cluster's
 * keys, each entry with its expiry; every daemon holds a copy that the hub checks at sign-in and
 * on every line, and whose address bans every session thread holds. A change is one script (the
 * hash, the version key, a `moderation` event on the stream every daemon reads), and each daemon
 * reads both hashes again when it sees the event: the daemon that made it before it answers, the
 * others within a stream read. Expired entries stop counting at once (a timer on each daemon, as
 * on one daemon) and are pruned from Redis at the next change. While Redis is away, the copy
 * holds: nobody banned gets in because Redis is down.
 */
export class RedisModeration implements BansAndMutes {
  onAddressBans: (rules: AddressBanRule[]) => void = () => {};
  readonly #opts: RedisModerationOptions;
  readonly #now: () => number;
  #bans = new Map<string, Ban>();
  #mutes = new Map<string, Mute>();
  #addresses = new AddressBanList([]);
  #rulesText = "[]";
  #version: string | null = null;
  #loading: Promise<void> | null = null;
  #queued: Promise<void> | null = null;
  #expiry: NodeJS.Timeout | null = null;
  #poll: NodeJS.Timeout | null = null;
  #closed = false;
  #badLogged = false;

  constructor(opts: RedisModerationOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Reads the cluster's bans and mutes (the start waits for it) and starts the version check. */
  async open(): Promise<void> {
    await this.reload();
    this.#poll = setInterval(() => void this.#checkVersion(), MODERATION_POLL_MS);
    this.#poll.unref();
  }

  nameBan(key: string): Ban | null {
    const ban = this.#bans.get(`n ${key}`);
    return ban && active(ban.until, this.#now()) ? ban : null;
  }

  addressBan(address: string): AddressBanRule | null {
    return this.#addresses.match(address, this.#now());
  }

  muteOf(key: string): Mute | null {
    const mute = this.#mutes.get(key);
    return mute && active(mute.until, this.#now()) ? mute : null;
  }

  addressRules(): AddressBanRule[] {
    const now = this.#now();
    const rules: AddressBanRule[] = [];
    for (const ban of this.#bans.values())
      if (ban.target.kind === "address" && active(ban.until, now))
        rules.push({ target: ban.target.target, reason: ban.reason, until: ban.until });
    return rules;
  }

  /** The cluster's bans in force, read from Redis now, oldest first. */
  async list(): Promise<BanEntry[]> {
    await this.reload();
    const now = this.#now();
    return [...this.#bans.values()]
      .filter((b) => active(b.until, now))
      .sort((a, b) => a.createdAt - b.createdAt)
      .map(banEntry);
  }

  async ban(target: BanTarget, reason: string | null, forSeconds: number | null): Promise<Ban> {
    const now = this.#now();
    const until = forSeconds === null ? null : now + forSeconds * 1000;
    const record: BanRecord = { target: target.target, reason, createdAt: now, until };
    if (!(await this.#put(this.#opts.keys.bans, banKey(target), record, now, MAX_BANS)))
      throw new ModerationListFull("bans", MAX_BANS);
    return { target, reason, createdAt: now, until };
  }

  unban(target: BanTarget): Promise<boolean> {
    return this.#take(this.#opts.keys.bans, banKey(target));
  }

  async mute(key: string, name: string, forSeconds: number | null): Promise<Mute> {
    const now = this.#now();
    const until = forSeconds === null ? null : now + forSeconds * 1000;
    const record: MuteRecord = { name, createdAt: now, until };
    if (!(await this.#put(this.#opts.keys.mutes, key, record, now, MAX_MUTES)))
      throw new ModerationListFull("mutes", MAX_MUTES);
    return { key, name, createdAt: now, until };
  }

  unmute(key: string): Promise<boolean> {
    return this.#take(this.#opts.keys.mutes, key);
  }

  /** A `moderation` event was read from the stream: another daemon (or this one) changed them. */
  changed(): void {
    this.reload().catch((error: Error) =>
      this.#opts.log("warn", "cannot read the cluster's bans and mutes; keeping the last ones read", {
        error: error.message,
      }),
    );
  }

  /**
   * Reads both hashes again. Reads do not overlap: one asked for while another runs starts once
   * it is done (and serves everyone who asked meanwhile), so its answer is never older than the ask.
   */
  reload(): Promise<void> {
    if (!this.#loading) {
      const run = this.#load();
      this.#loading = run;
      const done = () => {
        if (this.#loading === run) this.#loading = null;
      };
      run.then(done, done);
      return run;
    }
    if (!this.#queued) {
      const queued = this.#loading
        .catch(() => {})
        .then(() => {
          this.#queued = null;
          return this.reload();
        });
      this.#queued = queued;
    }
    return this.#queued;
  }

  close(): Promise<void> {
    this.#closed = true;
    if (this.#expiry) clearTimeout(this.#expiry);
    if (this.#poll) clearInterval(this.#poll);
    this.#expiry = null;
    this.#poll = null;
    return Promise.resolve();
  }

  /** Writes one entry (the script prunes the expired and keeps the bound); false when the list is full. */
  async #put(hash: string, field: string, record: object, now: number, max: number): Promise<boolean> {
    const stored = await this.#change(MODERATION_PUT, hash, [field, JSON.stringify(record), now, max]);
    return Number(stored) === 1;
  }

  async #take(hash: string, field: string): Promise<boolean> {
    return Number(await this.#change(MODERATION_TAKE, hash, [field, this.#now(), "", ""])) === 1;
  }

  /** Runs a change, then reads the hashes, so this daemon enforces it before the operator is answered. */
  async #change(script: Script, hash: string, args: (string | number)[]) {
    if (this.#closed) throw new Error("the daemon is stopping");
    const { redis, keys, streamMaxLen } = this.#opts;
    const reply = await redis.eval(
      script,
      [hash, keys.moderationVersion, keys.events],
      [...args, streamMaxLen],
    );
    await this.reload().catch(() => {});
    return reply;
  }

  async #load(): Promise<void> {
    const { redis, keys } = this.#opts;
    const [version, bansFlat, mutesFlat] = (await redis.eval(
      MODERATION_READ,
      [keys.moderationVersion, keys.bans, keys.mutes],
      [],
    )) as [string, unknown, unknown];
    if (this.#closed) return;
    const [bans, badBans] = readHash(bansFlat, parseBan);
    const [mutes, badMutes] = readHash(mutesFlat, parseMute);
    if (badBans + badMutes > 0 && !this.#badLogged) {
      this.#badLogged = true;
      this.#opts.log("warn", "the cluster's bans or mutes hold records this daemon cannot read; skipped", {
        bans: badBans,
        mutes: badMutes,
      });
    }
    const now = this.#now();
    for (const [field, ban] of bans) if (!active(ban.until, now)) bans.delete(field);
    for (const [key, mute] of mutes) if (!active(mute.until, now)) mutes.delete(key);
    this.#version = String(version);
    this.#bans = bans;
    this.#mutes = mutes;
    this.#addressesChanged();
    this.#schedule();
  }

  /** The version key moved without an event this daemon read: read them again. */
  async #checkVersion(): Promise<void> {
    if (this.#closed || this.#loading) return;
    const version = await this.#opts.redis
      .call(["GET", this.#opts.keys.moderationVersion])
      .catch(() => undefined);
    if (version === undefined) return;
    if (String(version ?? "") !== this.#version) this.changed();
  }

  /** The threads are told only when the address bans in force differ from what they hold. */
  #addressesChanged(): void {
    const rules = this.addressRules();
    const text = JSON.stringify(rules);
    this.#addresses = new AddressBanList(rules);
    if (text === this.#rulesText) return;
    this.#rulesText = text;
    this.onAddressBans(rules);
  }

  /** Arms the timer for the next expiry. */
  #schedule(): void {
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#expiry = null;
    if (this.#closed) return;
    this.#expiry = expiryTimer([...this.#bans.values(), ...this.#mutes.values()], this.#now(), () =>
      this.#expire(),
    );
  }

  /** Drops what has expired from the copy (Redis loses it at the next change) and tells the threads. */
  #expire(): void {
    const now = this.#now();
    for (const [key, ban] of this.#bans) if (!active(ban.until, now)) this.#bans.delete(key);
    for (const [key, mute] of this.#mutes) if (!active(mute.until, now)) this.#mutes.delete(key);
    this.#addressesChanged();
    this.#schedule();
  }
}
