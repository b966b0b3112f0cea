import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { chmod, mkdir, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import lockfile from "proper-lockfile";
import { type NameConflict, nameSkeletons, ReservedNames } from "../../protocol/names.ts";
import {
  hashPassword,
  type PasswordHash,
  SCRYPT_DEFAULTS,
  type ScryptParams,
  verifyPassword,
} from "./password.ts";
import { LOGIN_BATCH_MS } from "./limits.ts";

export interface Identity {
  name: string;
  key: string;
  /** ISO 8601 */
  createdAt: string;
  lastLoginAt: string | null;
  lastAddress: string | null;
  password: PasswordHash;
}

/** The identity file exists but cannot be used; tsd never overwrites such a file. */
export class IdentityFileCorrupt extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file} ${problem}; fix or move it; tsd never overwrites it`);
    this.name = "IdentityFileCorrupt";
    this.file = file;
  }

  #reported = false;
  /** True only the first time: one log line per unusable version of the file, however many sign-ins meet it. */
  firstReport(): boolean {
    const first = !this.#reported;
    this.#reported = true;
    return first;
  }
}

export interface IdentityStoreOptions {
  /** Overrides of the scrypt parameters for new hashes (tests use cheap ones). */
  scrypt?: Partial<ScryptParams>;
  /** Called when the file lock is lost while held; defaults to a process warning. Never throws. */
  onLockCompromised?: (err: Error) => void;
  /** Names nobody may register besides `server` (--reserved-names). */
  reservedNames?: readonly string[];
}

const FILE_VERSION = 1;
const FILE_MODE = 0o600;
/** Temp copies are named `<file>.<pid>.<hex>.tmp`, with this many random bytes in hex. */
const TEMP_RANDOM_BYTES = 6;

/** A user record as stored in the file (the key is the property name). Unknown fields are kept. */
interface StoredUser {
  name: string;
  createdAt: string;
  lastLoginAt: string | null;
  lastAddress: string | null;
  password: PasswordHash;
  [extra: string]: unknown;
}

interface Stamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** One parsed version of the file. Records are treated as immutable; changes make new objects. */
interface Snapshot {
  /** null: the file does not exist. */
  stamp: Stamp | null;
  users: ReadonlyMap<string, StoredUser>;
  /** Top-level fields other than version and users, kept on rewrite. */
  extra: Record<string, unknown>;
  error?: IdentityFileCorrupt;
  /** An open descriptor on the snapshot's inode, so the inode number cannot be reused while cached. */
  fd?: number;
  byAddress?: Map<string, { name: string; at: string }>;
  /** Each look-alike form (nameSkeletons) of the account names -> the account's key; built on first use. */
  bySkeleton?: Map<string, string>;
}

const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);
const fstatFd = promisify(fs.fstat) as (fd: number, opts: { bigint: true }) => Promise<fs.BigIntStats>;
const readFd = promisify(fs.readFile) as (fd: number, encoding: "utf8") => Promise<string>;
const writeFd = promisify(fs.writeFile) as (fd: number, data: string) => Promise<void>;
const fsyncFd = promisify(fs.fsync);
const fchmodFd = promisify(fs.fchmod);

const LOCK_OPTIONS = {
  realpath: false,
  stale: 10_000,
  update: 2_000,
  retries: { retries: 200, minTimeout: 5, maxTimeout: 50, randomize: true },
} as const;

function stampOf(st: fs.BigIntStats): Stamp {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

function sameStamp(a: Stamp | null, b: Stamp | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
}

function closeQuietly(fd: number | undefined): void {
  if (fd !== undefined) fs.close(fd, () => {});
}

/** "(line 3)" for a JSON.parse error, from V8's "(line L column C)" or its "position N". */
function jsonErrorLine(message: string, text: string): string {
  const line = /\(line (\d+) column \d+\)/.exec(message);
  if (line) return ` (line ${line[1]})`;
  const position = /at position (\d+)/.exec(message);
  const at = position ? Number(position[1]) : /end of JSON input/.test(message) ? text.length : -1;
  if (at < 0) return "";
  return ` (line ${text.slice(0, at).split("\n").length})`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}

/** Parses the file's text, or returns what is wrong with it (in words for the operator). */
function parseFile(
  text: string,
): { users: Map<string, StoredUser>; extra: Record<string, unknown> } | { problem: string } {
  if (text.trim() === "") return { problem: "is empty (expected a JSON object)" };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { problem: `is not valid JSON${jsonErrorLine(message, text)}: ${message}` };
  }
  if (!isPlainObject(data)) return { problem: "is not a JSON object" };
  const { version, users, ...extra } = data;
  if (version !== FILE_VERSION) {
    return { problem: `has version ${JSON.stringify(version)}; this tsd reads version ${FILE_VERSION}` };
  }
  if (!isPlainObject(users)) return { problem: 'has no "users" object' };
  const map = new Map<string, StoredUser>();
  for (const [key, record] of Object.entries(users)) {
    const where = `user ${JSON.stringify(key)}`;
    if (!isPlainObject(record)) return { problem: `has a ${where} that is not an object` };
    if (typeof record.name !== "string" || record.name === "") {
      return { problem: `has a ${where} without a name` };
    }
    if (typeof record.createdAt !== "string") return { problem: `has a ${where} without createdAt` };
    if (!isStringOrNull(record.lastLoginAt) || !isStringOrNull(record.lastAddress)) {
      return { problem: `has a ${where} whose lastLoginAt or lastAddress is not a string or null` };
    }
    if (!isPlainObject(record.password) || typeof record.password.algo !== "string") {
      return { problem: `has a ${where} without a password record` };
    }
    map.set(key, record as StoredUser);
  }
  return { users: map, extra };
}

function serialize(snapshot: Pick<Snapshot, "users" | "extra">): string {
  return `${JSON.stringify({ ...snapshot.extra, version: FILE_VERSION, users: Object.fromEntries(snapshot.users) }, null, 2)}\n`;
}

function toIdentity(key: string, user: StoredUser): Identity {
  return {
    name: user.name,
    key,
    createdAt: user.createdAt,
    lastLoginAt: user.lastLoginAt,
    lastAddress: user.lastAddress,
    password: { ...user.password },
  };
}

/** The missing file: no users. Shared; never mutated except for its (empty) address index. */
const EMPTY: Snapshot = { stamp: null, users: new Map(), extra: {} };

/**
 * The accounts in `identities.json`. Shared by several processes and threads, each with its own
 * instance: every change is a read-modify-write under a proper-lockfile lock, written to a temp file
 * and renamed; lookups use a cache that is re-read only when the file's identity (inode, size,
 * times) changes.
 */
export class IdentityStore {
  readonly file: string;
  #scrypt: ScryptParams;
  #onLockCompromised: (err: Error) => void;
  #snap: Snapshot = EMPTY;
  #reading: Promise<Snapshot> | null = null;
  /** Serializes this instance's own writers so they do not compete for the file lock. */
  #queue: Promise<unknown> = Promise.resolve();
  #dummy: Promise<PasswordHash> | null = null;
  #logins = new Map<string, { at: string; address: string }>();
  #loginBatch: Promise<void> | null = null;
  #reserved: ReservedNames;
  /** Account name -> its skeletons, kept across versions of the file so a new version costs look-ups, not skeletons. */
  #skeletons = new Map<string, string[]>();

  constructor(file: string, options: IdentityStoreOptions = {}) {
    this.file = file;
    this.#scrypt = { ...SCRYPT_DEFAULTS, ...options.scrypt };
    this.#reserved = new ReservedNames(options.reservedNames);
    this.#onLockCompromised =
      options.onLockCompromised ??
      ((err) => process.emitWarning(`identity file lock compromised: ${err.message}`, "IdentityStore"));
  }

  async get(key: string): Promise<Identity | undefined> {
    const snap = await this.#current();
    const user = snap.users.get(key);
    return user ? toIdentity(key, user) : undefined;
  }

  /**
   * Why no new account may take a name (valid, with no account of its key): it is reserved,
   * or it looks like an existing account's name. skeletons are the candidate's, from
   * checkName; the accounts' are indexed once per version of the file.
   */
  async nameConflict(key: string, skeletons: readonly string[]): Promise<NameConflict | undefined> {
    if (this.#reserved.has(key, skeletons)) return "reserved";
    return this.#looksLikeAnother(await this.#current(), key, skeletons) ? "look-alike" : undefined;
  }

  /** "taken" also when the name is reserved or looks like an existing account's, checked again under the file lock. */
  async register(name: string, key: string, password: string, address: string): Promise<"ok" | "taken"> {
    const skeletons = nameSkeletons(name);
    if (this.#reserved.has(key, skeletons)) return "taken";
    const before = await this.#current();
    if (before.users.has(key) || this.#looksLikeAnother(before, key, skeletons)) return "taken";
    const hash = await hashPassword(password, this.#scrypt);
    return this.#mutate((users, _exists, snap) => {
      if (users.has(key) || this.#looksLikeAnother(snap, key, skeletons))
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

  /**
   * Records a sign-in. Sign-ins within LOGIN_BATCH_MS are written together: one locked rewrite
   * of the file per batch instead of one per sign-in, which at thousands of sign-ins is the
   * difference between a few writes a second and rewriting the whole file thousands of times.
   */
  recordLogin(key: string, address: string): Promise<void> {
    this.#logins.set(key, { at: new Date().toISOString(), address });
    this.#loginBatch ??= new Promise((resolve) => setTimeout(resolve, LOGIN_BATCH_MS)).then(() => {
      const batch = this.#logins;
      this.#logins = new Map();
      this.#loginBatch = null;
      return this.#mutate((users) => {
        let changed = false;
        for (const [k, login] of batch) {
          const user = users.get(k);
          if (!user) continue;
          users.set(k, { ...user, lastLoginAt: login.at, lastAddress: login.address });
          changed = true;
        }
        return { result: undefined, changed };
      });
    });
    return this.#loginBatch;
  }

  /** Resolves once every recorded sign-in is in the file. */
  async flush(): Promise<void> {
    await this.#loginBatch;
  }

  async setPassword(key: string, password: string): Promise<boolean> {
    if (!(await this.#current()).users.has(key)) return false;
    const hash = await hashPassword(password, this.#scrypt);
    return this.#mutate((users) => {
      const user = users.get(key);
      if (!user) return { result: false, changed: false };
      users.set(key, { ...user, password: hash });
      return { result: true, changed: true };
    });
  }

  async list(): Promise<Omit<Identity, "password" | "key">[]> {
    const snap = await this.#current();
    return [...snap.users.values()]
      .map((u) => ({
        name: u.name,
        createdAt: u.createdAt,
        lastLoginAt: u.lastLoginAt,
        lastAddress: u.lastAddress,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async wipe(): Promise<number> {
    return this.#mutate((users, exists) => {
      const count = users.size;
      users.clear();
      return { result: count, changed: exists };
    });
  }

  async rememberedName(address: string): Promise<string | undefined> {
    const snap = await this.#current();
    if (!snap.byAddress) {
      const index = new Map<string, { name: string; at: string }>();
      for (const user of snap.users.values()) {
        if (user.lastAddress === null) continue;
        // Registering counts as signing in (lastAddress is set then, lastLoginAt not yet).
        const at = user.lastLoginAt ?? user.createdAt;
        const seen = index.get(user.lastAddress);
        if (!seen || Date.parse(at) > Date.parse(seen.at))
          index.set(user.lastAddress, { name: user.name, at });
      }
      snap.byAddress = index;
    }
    return snap.byAddress.get(address)?.name;
  }

  async check(): Promise<void> {
    await this.#current();
  }

  #looksLikeAnother(snap: Snapshot, key: string, skeletons: readonly string[]): boolean {
    const index = this.#skeletonIndex(snap);
    return skeletons.some((form) => {
      const owner = index.get(form);
      return owner !== undefined && owner !== key;
    });
  }

  #skeletonIndex(snap: Snapshot): Map<string, string> {
    if (snap.bySkeleton) return snap.bySkeleton;
    const index = new Map<string, string>();
    const memo = new Map<string, string[]>();
    for (const [key, user] of snap.users) {
      const forms = this.#skeletons.get(user.name) ?? nameSkeletons(user.name);
      memo.set(user.name, forms);
      for (const form of forms) if (!index.has(form)) index.set(form, key);
    }
    this.#skeletons = memo;
    snap.bySkeleton = index;
    return index;
  }

  /** Drops the cached snapshot (and the descriptor it holds open). The store stays usable. */
  async close(): Promise<void> {
    const fd = this.#snap.fd;
    this.#snap = EMPTY;
    if (fd !== undefined) await closeFd(fd).catch(() => {});
  }

  // ---- reading

  /** The current contents: the cache if the file is unchanged, else a fresh read. Throws if corrupt. */
  async #current(): Promise<Snapshot> {
    let now: Stamp | null;
    try {
      now = stampOf(await stat(this.file, { bigint: true }));
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw this.#unreadable(err);
      now = null;
    }
    let snap: Snapshot | undefined;
    if (sameStamp(this.#snap.stamp, now)) snap = this.#snap;
    else if (now === null) snap = this.#install(EMPTY);
    else {
      // Join a read already under way if it turns out to be of this same version of the file.
      const pending = this.#reading;
      if (pending) {
        const joined = await pending.catch(() => undefined);
        if (joined && sameStamp(joined.stamp, now)) snap = joined;
      }
      if (!snap) {
        const read = this.#read();
        this.#reading = read;
        try {
          snap = await read;
        } finally {
          if (this.#reading === read) this.#reading = null;
        }
      }
    }
    if (snap.error) throw snap.error;
    return snap;
  }

  /** Reads and parses the file and makes it the cached snapshot (a corrupt file is cached as an error). */
  async #read(): Promise<Snapshot> {
    let fd: number;
    try {
      fd = await openFd(this.file, "r");
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return this.#install(EMPTY);
      throw this.#unreadable(err);
    }
    let snap: Snapshot;
    try {
      const stamp = stampOf(await fstatFd(fd, { bigint: true }));
      const text = await readFd(fd, "utf8");
      const parsed = parseFile(text);
      snap =
        "problem" in parsed
          ? {
              stamp,
              users: new Map(),
              extra: {},
              error: new IdentityFileCorrupt(this.file, parsed.problem),
              fd,
            }
          : { stamp, users: parsed.users, extra: parsed.extra, fd };
    } catch (err) {
      closeQuietly(fd);
      throw this.#unreadable(err);
    }
    return this.#install(snap);
  }

  #install(snap: Snapshot): Snapshot {
    const old = this.#snap;
    this.#snap = snap;
    if (old.fd !== undefined && old.fd !== snap.fd) closeQuietly(old.fd);
    return snap;
  }

  #unreadable(err: unknown): IdentityFileCorrupt {
    if (err instanceof IdentityFileCorrupt) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new IdentityFileCorrupt(this.file, `cannot be read (${message})`);
  }

  // ---- writing

  /**
   * Read-modify-write under the file lock: re-reads the file (throwing, and writing nothing, if it is
   * corrupt), lets `change` edit a copy of the users, and writes the result if it says it changed.
   */
  #mutate<T>(
    change: (
      users: Map<string, StoredUser>,
      exists: boolean,
      read: Snapshot,
    ) => { result: T; changed: boolean },
  ): Promise<T> {
    const run = this.#queue.then(() => this.#underLock(change));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #underLock<T>(
    change: (
      users: Map<string, StoredUser>,
      exists: boolean,
      read: Snapshot,
    ) => { result: T; changed: boolean },
  ): Promise<T> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    let compromised: Error | undefined;
    const release = await lockfile.lock(this.file, {
      ...LOCK_OPTIONS,
      onCompromised: (err) => {
        compromised = err;
        try {
          this.#onLockCompromised(err);
        } catch {
          // a reporting failure must not take the process down
        }
      },
    });
    try {
      const snap = await this.#read();
      if (snap.error) throw snap.error;
      const users = new Map(snap.users);
      const { result, changed } = change(users, snap.stamp !== null, snap);
      if (changed) await this.#write({ users, extra: snap.extra }, () => compromised);
      return result;
    } finally {
      await release().catch(() => {});
    }
  }

  async #write(data: Pick<Snapshot, "users" | "extra">, lost: () => Error | undefined): Promise<void> {
    const text = serialize(data);
    const temp = `${this.file}.${process.pid}.${randomBytes(TEMP_RANDOM_BYTES).toString("hex")}.tmp`;
    let fd: number | undefined = await openFd(temp, "wx", FILE_MODE);
    try {
      await writeFd(fd, text);
      await fchmodFd(fd, FILE_MODE);
      await fsyncFd(fd);
      await closeFd(fd);
      fd = undefined;
      const err = lost();
      if (err) throw new Error(`lost the lock on ${this.file} before writing it: ${err.message}`);
      await rename(temp, this.file);
    } catch (err) {
      closeQuietly(fd);
      await unlink(temp).catch(() => {});
      throw err;
    }
    await this.#syncDir();
    // Cache what was just written, pinned to the new inode.
    const pin = await openFd(this.file, "r");
    try {
      let st = await fstatFd(pin, { bigint: true });
      if ((Number(st.mode) & 0o777) !== FILE_MODE) {
        await chmod(this.file, FILE_MODE);
        st = await fstatFd(pin, { bigint: true });
      }
      const stamp = stampOf(st);
      this.#install({ stamp, users: data.users, extra: data.extra, fd: pin });
    } catch (err) {
      closeQuietly(pin);
      throw err;
    }
  }

  /** Makes the rename durable; best effort (not every platform can fsync a directory). */
  async #syncDir(): Promise<void> {
    let fd: number | undefined;
    try {
      fd = await openFd(path.dirname(this.file), "r");
      await fsyncFd(fd);
    } catch {
      // ignore
    } finally {
      if (fd !== undefined) await closeFd(fd).catch(() => {});
    }
  }
}

/**
 * Removes what an identity write killed half-way (kill -9, a power cut) leaves behind for ever:
 * its temp copies, which are whole copies of the file with every password hash, and the
 * proper-lockfile lock directory. Only for a caller that holds the state directory's lock, so no
 * live writer owns them. Resolves with the names removed.
 */
export async function removeIdentityLeftovers(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const lockDir = `${base}.lock`;
  const tempSuffix = new RegExp(`^\\.\\d+\\.[0-9a-f]{${TEMP_RANDOM_BYTES * 2}}\\.tmp$`);
  const isLeftover = (name: string) =>
    name === lockDir || (name.startsWith(base) && tempSuffix.test(name.slice(base.length)));
  const removed: string[] = [];
  for (const name of names.filter(isLeftover)) {
    await rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
