import type { AccountOp, AccountRecord, AccountResults } from "../../../protocol/account-messages.ts";
import { nameKey, nameSkeletons } from "../../../protocol/names.ts";
import type { IdentitySummary } from "../../../protocol/rpc.ts";
import { hashPassword } from "../../shared/password.ts";
import { REGISTER, REMOVE, REPLACE, WIPE } from "./cluster-scripts.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import type { RedisLink } from "./redis-link.ts";

/** A compare-and-set loop gives up after this many changes by others in between (it never happens in practice). */
const REPLACE_ATTEMPTS = 8;

/** What an import did: accounts copied, and the names kept because the cluster already had them. */
export interface ImportReport {
  imported: number;
  kept: string[];
}

/**
 * RedisAccounts is the cluster's accounts: one hash of key -> the record as identities.json keeps
 * it (a JSON text, the scrypt hash with its parameters), an index of look-alike forms, and the name
 * last signed in from each address. Registration is one script (REGISTER), so a name is unique
 * across the cluster; other changes read the record, change it here and write it back only if it
 * is still what was read (REPLACE), so the JSON is never rewritten by Lua and two changes never
 * undo each other.
 */
export class RedisAccounts {
  private readonly redis: RedisLink;
  private readonly keys: ClusterKeys;

  constructor(redis: RedisLink, keys: ClusterKeys) {
    this.redis = redis;
    this.keys = keys;
  }

  /** One operation asked by a session thread (protocol/account-messages.ts). */
  async run(call: AccountOp): Promise<AccountResults[AccountOp["op"]]> {
    switch (call.op) {
      case "get":
        return this.get(call.key);
      case "lookAlike": {
        if (call.skeletons.length === 0) return false;
        const owners = (await this.redis.call(["HMGET", this.keys.skeletons, ...call.skeletons])) as (
          | string
          | null
        )[];
        return owners.some((owner) => owner !== null && owner !== call.key);
      }
      case "register":
        return (await this.redis.eval(
          REGISTER,
          [this.keys.accounts, this.keys.skeletons],
          [call.key, JSON.stringify(call.record), ...call.skeletons],
        )) as "ok" | "taken";
      case "setPassword":
        return this.change(call.key, (record) => {
          const was = call.was;
          if (was && (record.password.hash !== was.hash || record.password.salt !== was.salt)) return "stale";
          const { mustChangePassword: _, ...rest } = record;
          return { ...rest, password: call.password } as AccountRecord;
        });
      case "setIgnored":
        return this.change(call.key, (record) => {
          const list = Array.isArray(record.ignores) ? record.ignores : [];
          const at = list.findIndex((n) => nameKey(n) === nameKey(call.name));
          if (call.ignore === (at !== -1)) return "unchanged";
          if (call.ignore && list.length >= call.max) return "full";
          const ignores = call.ignore ? [...list, call.name] : list.filter((_, i) => i !== at);
          return { ...record, ignores };
        });
      case "login": {
        await this.change(call.key, (record) => ({
          ...record,
          lastLoginAt: call.at,
          lastAddress: call.address,
        }));
        const record = await this.get(call.key);
        if (record) await this.redis.call(["HSET", this.keys.addresses, call.address, record.name]);
        return true;
      }
      case "rememberedName":
        return (await this.redis.call(["HGET", this.keys.addresses, call.address])) as string | null;
    }
  }

  async get(key: string): Promise<AccountRecord | null> {
    const text = (await this.redis.call(["HGET", this.keys.accounts, key])) as string | null;
    return text === null ? null : (JSON.parse(text) as AccountRecord);
  }

  /** identities.remove: the account and its look-alike forms gone; false when there was none. */
  async remove(key: string): Promise<boolean> {
    const record = await this.get(key);
    if (!record) return false;
    const removed = await this.redis.eval(
      REMOVE,
      [this.keys.accounts, this.keys.skeletons],
      [key, ...nameSkeletons(record.name)],
    );
    return Number(removed) === 1;
  }

  /**
   * identities.reset: the password becomes the one-time password (hashed here, on libuv's pool, as
   * the embedded daemon does), flagged so the next sign-in asks for a new one. The account's name,
   * or null when there is none.
   */
  async resetPassword(key: string, oneTime: string): Promise<string | null> {
    const password = await hashPassword(oneTime);
    let name: string | null = null;
    const outcome = await this.change(key, (record) => {
      name = record.name;
      return { ...record, password, mustChangePassword: true };
    });
    return outcome === "ok" ? name : null;
  }

  /** identities.list: every account by name, never a hash. */
  async list(): Promise<IdentitySummary[]> {
    const texts = (await this.redis.call(["HVALS", this.keys.accounts])) as string[];
    return texts
      .map((text) => JSON.parse(text) as AccountRecord)
      .map((u) => ({
        name: u.name,
        createdAt: u.createdAt,
        lastLoginAt: u.lastLoginAt,
        lastAddress: u.lastAddress,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** identities.wipe: every account of the cluster gone; answers how many there were. */
  async wipe(): Promise<number> {
    return Number(
      await this.redis.eval(WIPE, [this.keys.accounts, this.keys.skeletons, this.keys.addresses], []),
    );
  }

  /**
   * Copies the accounts of an identities.json (its users, by key) into the cluster: each as it
   * is, hash and all (never re-hashed); a name the cluster already has, or one that looks like
   * one of its names, is kept as the cluster has it and reported.
   */
  async import(users: ReadonlyMap<string, AccountRecord>): Promise<ImportReport> {
    const report: ImportReport = { imported: 0, kept: [] };
    for (const [key, record] of users) {
      const outcome = await this.redis.eval(
        REGISTER,
        [this.keys.accounts, this.keys.skeletons],
        [key, JSON.stringify(record), ...nameSkeletons(record.name)],
      );
      if (outcome === "ok") {
        report.imported++;
        if (record.lastAddress)
          await this.redis.call(["HSETNX", this.keys.addresses, record.lastAddress, record.name]);
      } else report.kept.push(record.name);
    }
    return report;
  }

  /**
   * Reads the record, lets edit make the new one (or answer a word instead), and writes it only
   * if nobody changed it in between; on a change, reads again.
   */
  private async change<W extends string>(
    key: string,
    edit: (record: AccountRecord) => AccountRecord | W,
  ): Promise<"ok" | "gone" | W> {
    for (let attempt = 0; attempt < REPLACE_ATTEMPTS; attempt++) {
      const text = (await this.redis.call(["HGET", this.keys.accounts, key])) as string | null;
      if (text === null) return "gone";
      const next = edit(JSON.parse(text) as AccountRecord);
      if (typeof next === "string") return next;
      const outcome = await this.redis.eval(REPLACE, [this.keys.accounts], [key, text, JSON.stringify(next)]);
      if (outcome === "ok" || outcome === "gone") return outcome;
    }
    throw new Error(`the account ${key} kept changing; not changed`);
  }
}
