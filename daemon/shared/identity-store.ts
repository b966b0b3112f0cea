import { type NameConflict, nameKey, nameSkeletons, ReservedNames } from "../../protocol/names.ts";
import type { IdentitySummary } from "../../protocol/rpc.ts";
import { IdentityCache } from "./identities/identity-cache.ts";
import type { StoredUser } from "./identities/identity-file.ts";
import { IdentityWrites } from "./identities/identity-writes.ts";
import { type Login, LoginBatch } from "./identities/login-batch.ts";
import { AddressIndex, LookAlikeIndex } from "./identities/name-indexes.ts";
import { MAX_IGNORES } from "./limits.ts";
import {
  hashPassword,
  type PasswordHash,
  SCRYPT_DEFAULTS,
  type ScryptParams,
  verifyPassword,
} from "./password.ts";

export { IdentityFileCorrupt } from "./identities/identity-file.ts";
export { removeIdentityLeftovers } from "./identities/identity-leftovers.ts";

export interface Identity {
  name: string;
  key: string;
  /** ISO 8601 */
  createdAt: string;
  lastLoginAt: string | null;
  lastAddress: string | null;
  password: PasswordHash;
  /** The names this account has /ignore'd (display names, at most MAX_IGNORES). */
  ignores: string[];
  /** The password is a one-time password from identities.reset: the next sign-in must choose a new one. */
  mustChangePassword: boolean;
}

/** What /ignore or /unignore did to the list: "full" is MAX_IGNORES already; "gone": no such account. */
export type IgnoreChange = "ok" | "unchanged" | "full" | "gone";

export interface IdentityStoreOptions {
  /** Overrides of the scrypt parameters for new hashes (tests use cheap ones). */
  scrypt?: Partial<ScryptParams>;
  /** Called when the file lock is lost while held; defaults to a process warning. Never throws. */
  onLockCompromised?: (err: Error) => void;
  /** Names nobody may register besides `server` (--reserved-names). */
  reservedNames?: readonly string[];
}

/** The stored ignore list, read leniently: a field this version did not write counts as none. */
function ignoresOf(user: StoredUser): string[] {
  const list = user.ignores;
  return Array.isArray(list)
    ? list.filter((n): n is string => typeof n === "string").slice(0, MAX_IGNORES)
    : [];
}

/** The record with a new password chosen by its user: no longer a one-time password. */
function withPassword(user: StoredUser, password: PasswordHash): StoredUser {
  const { mustChangePassword: _, ...rest } = user;
  return { ...rest, password } as StoredUser;
}

function toIdentity(key: string, user: StoredUser): Identity {
  return {
    name: user.name,
    key,
    createdAt: user.createdAt,
    lastLoginAt: user.lastLoginAt,
    lastAddress: user.lastAddress,
    password: { ...user.password },
    ignores: ignoresOf(user),
    mustChangePassword: user.mustChangePassword === true,
  };
}

/**
 * The accounts in `identities.json`. Shared by several processes and threads, each with its own
 * instance: every change is a read-modify-write under the file's lock, written atomically
 * (identities/identity-writes.ts); lookups use a cache that is re-read only when the file
 * changes (identities/identity-cache.ts); sign-ins are recorded in batches.
 */
export class IdentityStore {
  readonly file: string;
  readonly #scrypt: ScryptParams;
  readonly #reserved: ReservedNames;
  readonly #cache: IdentityCache;
  readonly #writes: IdentityWrites;
  readonly #logins: LoginBatch;
  readonly #addresses = new AddressIndex();
  readonly #lookAlikes = new LookAlikeIndex();
  #dummy: Promise<PasswordHash> | null = null;

  constructor(file: string, options: IdentityStoreOptions = {}) {
    this.file = file;
    this.#scrypt = { ...SCRYPT_DEFAULTS, ...options.scrypt };
    this.#reserved = new ReservedNames(options.reservedNames);
    this.#cache = new IdentityCache(file);
    this.#writes = new IdentityWrites(
      this.#cache,
      options.onLockCompromised ??
        ((err) => process.emitWarning(`identity file lock compromised: ${err.message}`, "IdentityStore")),
    );
    this.#logins = new LoginBatch((logins) => this.#writeLogins(logins));
  }

  async get(key: string): Promise<Identity | undefined> {
    const user = (await this.#cache.current()).users.get(key);
    return user ? toIdentity(key, user) : undefined;
  }

  /**
   * Why no new account may take a name (valid, with no account of its key): it is reserved,
   * or it looks like an existing account's name. skeletons are the candidate's, from
   * checkName; the accounts' are indexed once per version of the file.
   */
  async nameConflict(key: string, skeletons: readonly string[]): Promise<NameConflict | undefined> {
    if (this.#reserved.has(key, skeletons)) return "reserved";
    const { users } = await this.#cache.current();
    return this.#lookAlikes.looksLikeAnother(users, key, skeletons) ? "look-alike" : undefined;
  }

  /** "taken" also when the name is reserved or looks like an existing account's, checked again under the file lock. */
  async register(name: string, key: string, password: string, address: string): Promise<"ok" | "taken"> {
    const skeletons = nameSkeletons(name);
    if (this.#reserved.has(key, skeletons)) return "taken";
    const before = await this.#cache.current();
    if (before.users.has(key) || this.#lookAlikes.looksLikeAnother(before.users, key, skeletons))
      return "taken";
    const hash = await hashPassword(password, this.#scrypt);
    return this.#writes.mutate((users, _exists, read) => {
      if (users.has(key) || this.#lookAlikes.looksLikeAnother(read.users, key, skeletons))
        return { result: "taken" as const, changed: false };
      users.set(key, {
        name,
        createdAt: new Date().toISOString(),
        lastLoginAt: null,
        lastAddress: address,
        password: hash,
      });
      return { result: "ok" as const, changed: true };
    });
  }

  async verify(key: string, password: string): Promise<Identity | null> {
    const identity = await this.get(key);
    if (!identity) {
      // Spend the same time as a real check, so timing does not tell which names exist.
      this.#dummy ??= hashPassword("", this.#scrypt);
      await verifyPassword(password, await this.#dummy);
      return null;
    }
    return (await verifyPassword(password, identity.password)) ? identity : null;
  }

  /** Records a sign-in; sign-ins close together are written together (identities/login-batch.ts). */
  recordLogin(key: string, address: string): Promise<void> {
    return this.#logins.record(key, { at: new Date().toISOString(), address });
  }

  /** Resolves once every recorded sign-in is in the file. */
  flush(): Promise<void> {
    return this.#logins.flush();
  }

  async setPassword(key: string, password: string): Promise<boolean> {
    if (!(await this.#cache.current()).users.has(key)) return false;
    const hash = await hashPassword(password, this.#scrypt);
    return this.#writes.mutate((users) => {
      const user = users.get(key);
      if (!user) return { result: false, changed: false };
      users.set(key, withPassword(user, hash));
      return { result: true, changed: true };
    });
  }

  /**
   * identities.reset: the account's password becomes `oneTime` (hashed like any other), flagged
   * so that signing in with it asks for a new one first. Resolves with the account's name, or
   * null when there is no such account.
   */
  async resetPassword(key: string, oneTime: string): Promise<string | null> {
    if (!(await this.#cache.current()).users.has(key)) return null;
    const hash = await hashPassword(oneTime, this.#scrypt);
    return this.#writes.mutate((users) => {
      const user = users.get(key);
      if (!user) return { result: null, changed: false };
      users.set(key, { ...user, password: hash, mustChangePassword: true });
      return { result: user.name, changed: true };
    });
  }

  /**
   * The user who signed in with a one-time password chose a new one: it replaces the one-time
   * password only if that is still the account's (the operator may have reset it again, or removed
   * the account, while the new one was typed).
   */
  async replaceOneTimePassword(
    key: string,
    was: PasswordHash,
    password: string,
  ): Promise<"ok" | "gone" | "stale"> {
    const hash = await hashPassword(password, this.#scrypt);
    return this.#writes.mutate((users) => {
      const user = users.get(key);
      if (!user) return { result: "gone" as const, changed: false };
      if (user.password.hash !== was.hash || user.password.salt !== was.salt)
        return { result: "stale" as const, changed: false };
      users.set(key, withPassword(user, hash));
      return { result: "ok" as const, changed: true };
    });
  }

  /** identities.remove: the account is gone from the file; false when there was none. */
  remove(key: string): Promise<boolean> {
    return this.#writes.mutate((users) => {
      const removed = users.delete(key);
      return { result: removed, changed: removed };
    });
  }

  /**
   * Adds name to (ignore) or removes it from the account's ignore list, under the file's lock,
   * so two sessions' changes do not undo each other; names are compared by key.
   */
  setIgnored(key: string, name: string, ignore: boolean): Promise<IgnoreChange> {
    return this.#writes.mutate((users) => {
      const user = users.get(key);
      if (!user) return { result: "gone" as const, changed: false };
      const list = ignoresOf(user);
      const at = list.findIndex((n) => nameKey(n) === nameKey(name));
      const listed = at !== -1;
      if (ignore === listed) return { result: "unchanged" as const, changed: false };
      if (ignore && list.length >= MAX_IGNORES) return { result: "full" as const, changed: false };
      const ignores = ignore ? [...list, name] : list.filter((_, i) => i !== at);
      users.set(key, { ...user, ignores });
      return { result: "ok" as const, changed: true };
    });
  }

  /** Every account, by name, without its key or password. */
  async list(): Promise<IdentitySummary[]> {
    const { users } = await this.#cache.current();
    return [...users.values()]
      .map((u) => ({
        name: u.name,
        createdAt: u.createdAt,
        lastLoginAt: u.lastLoginAt,
        lastAddress: u.lastAddress,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Empties the file; resolves with how many accounts it held. */
  wipe(): Promise<number> {
    return this.#writes.mutate((users, exists) => {
      const count = users.size;
      users.clear();
      return { result: count, changed: exists };
    });
  }

  /** The name last signed in from address, if any. */
  async rememberedName(address: string): Promise<string | undefined> {
    const { users } = await this.#cache.current();
    return this.#addresses.nameAt(users, address);
  }

  /** Rejects (IdentityFileCorrupt) if the file cannot be used. */
  async check(): Promise<void> {
    await this.#cache.current();
  }

  /** Drops the cached snapshot (and the descriptor it holds open). The store stays usable. */
  close(): Promise<void> {
    return this.#cache.close();
  }

  #writeLogins(logins: ReadonlyMap<string, Login>): Promise<void> {
    return this.#writes.mutate((users) => {
      let changed = false;
      for (const [key, login] of logins) {
        const user = users.get(key);
        if (!user) continue;
        users.set(key, { ...user, lastLoginAt: login.at, lastAddress: login.address });
        changed = true;
      }
      return { result: undefined, changed };
    });
  }
}
