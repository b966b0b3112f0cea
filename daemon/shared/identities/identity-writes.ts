import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import { writeFileAtomically } from "../atomic-write.ts";
import type { IdentityCache, Snapshot } from "./identity-cache.ts";
import {
  FILE_MODE,
  type IdentityFileContents,
  type StoredUser,
  serializeIdentityFile,
} from "./identity-file.ts";

const LOCK_OPTIONS = {
  realpath: false,
  stale: 10_000,
  update: 2_000,
  retries: { retries: 200, minTimeout: 5, maxTimeout: 50, randomize: true },
} as const;

/** Temp copies are named `<file>.<pid>.<hex>.tmp`, with this many random bytes in hex. */
const TEMP_RANDOM_BYTES = 6;

/** The suffix of a temp copy's name after the file's own name (what removeIdentityLeftovers looks for). */
export const TEMP_COPY_SUFFIX = new RegExp(`^\\.\\d+\\.[0-9a-f]{${TEMP_RANDOM_BYTES * 2}}\\.tmp$`);

/** proper-lockfile's lock is a directory next to the file, of this name. */
export function lockDirName(file: string): string {
  return `${path.basename(file)}.lock`;
}

/**
 * One change to the users: edits `users` (a copy of the file's, read under the lock) and says
 * whether it changed anything; exists is whether the file exists, read is the version read.
 */
export type IdentityChange<T> = (
  users: Map<string, StoredUser>,
  exists: boolean,
  read: Snapshot,
) => { result: T; changed: boolean };

/**
 * IdentityWrites makes every change to the identity file a read-modify-write under a
 * proper-lockfile lock, written atomically; one instance's changes run one at a time, so they
 * do not compete with each other for the lock.
 */
export class IdentityWrites {
  readonly #cache: IdentityCache;
  readonly #onLockCompromised: (err: Error) => void;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(cache: IdentityCache, onLockCompromised: (err: Error) => void) {
    this.#cache = cache;
    this.#onLockCompromised = onLockCompromised;
  }

  /**
   * Reads the file under its lock if it changed (throwing, and writing nothing, if it is corrupt), lets
   * `change` edit a copy of the users, and writes the result if it says it changed.
   */
  mutate<T>(change: IdentityChange<T>): Promise<T> {
    const run = this.#queue.then(() => this.#underLock(change));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #underLock<T>(change: IdentityChange<T>): Promise<T> {
    const file = this.#cache.file;
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    let compromised: Error | undefined;
    const release = await lockfile.lock(file, {
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
      // The cached version if the file is still that one (its inode, size and times: a write by
      // anyone else renames a new inode into place), so a thread that wrote last does not parse
      // the whole file again for its next change: in a sign-in storm that was a re-read a second.
      const snap = await this.#cache.current();
      const users = new Map(snap.users);
      const { result, changed } = change(users, snap.stamp !== null, snap);
      if (changed) await this.#write({ users, extra: snap.extra }, () => compromised);
      return result;
    } finally {
      await release().catch(() => {});
    }
  }

  async #write(contents: IdentityFileContents, lost: () => Error | undefined): Promise<void> {
    const file = this.#cache.file;
    await writeFileAtomically(file, serializeIdentityFile(contents), {
      temp: `${file}.${process.pid}.${randomBytes(TEMP_RANDOM_BYTES).toString("hex")}.tmp`,
      mode: FILE_MODE,
      exclusive: true,
      beforeRename: () => {
        const err = lost();
        if (err) throw new Error(`lost the lock on ${file} before writing it: ${err.message}`);
      },
    });
    await this.#cache.pin(contents, FILE_MODE);
  }
}
