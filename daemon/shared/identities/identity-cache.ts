import * as fs from "node:fs";
import { chmod, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { IdentityFileCorrupt, type IdentityFileContents, parseIdentityFile } from "./identity-file.ts";

/** A version of the file: which inode, how big, when last changed. */
interface Stamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** One parsed version of the file. */
export interface Snapshot extends IdentityFileContents {
  /** null: the file does not exist. */
  stamp: Stamp | null;
  error?: IdentityFileCorrupt;
  /** An open descriptor on the snapshot's inode, so the inode number cannot be reused while cached. */
  fd?: number;
}

const openFd = promisify(fs.open);
const closeFd = promisify(fs.close);
const fstatFd = promisify(fs.fstat) as (fd: number, opts: { bigint: true }) => Promise<fs.BigIntStats>;
const readFd = promisify(fs.readFile) as (fd: number, encoding: "utf8") => Promise<string>;

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

/** The missing file: no users. Shared and never changed. */
const EMPTY: Snapshot = { stamp: null, users: new Map(), extra: {} };

/**
 * IdentityCache holds the last version of the identity file read or written, and reads it
 * again only when the file's identity (inode, size, times) has changed: another process or
 * thread wrote it, or an operator edited it. Concurrent reads of one version are one read.
 */
export class IdentityCache {
  readonly file: string;
  #snap: Snapshot = EMPTY;
  #reading: Promise<Snapshot> | null = null;

  constructor(file: string) {
    this.file = file;
  }

  /** The current contents: the cache if the file is unchanged, else a fresh read. Throws if corrupt. */
  async current(): Promise<Snapshot> {
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
        const read = this.read();
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
  async read(): Promise<Snapshot> {
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
      const parsed = parseIdentityFile(await readFd(fd, "utf8"));
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

  /** Caches what was just written to the file, pinned to its new inode; its mode made `mode` if it is not. */
  async pin(contents: IdentityFileContents, mode: number): Promise<void> {
    const fd = await openFd(this.file, "r");
    try {
      let st = await fstatFd(fd, { bigint: true });
      if ((Number(st.mode) & 0o777) !== mode) {
        await chmod(this.file, mode);
        st = await fstatFd(fd, { bigint: true });
      }
      this.#install({ stamp: stampOf(st), users: contents.users, extra: contents.extra, fd });
    } catch (err) {
      closeQuietly(fd);
      throw err;
    }
  }

  /** Drops the cached snapshot (and the descriptor it holds open). The cache stays usable. */
  async close(): Promise<void> {
    const fd = this.#snap.fd;
    this.#snap = EMPTY;
    if (fd !== undefined) await closeFd(fd).catch(() => {});
  }

  #install(snap: Snapshot): Snapshot {
    const old = this.#snap;
    this.#snap = snap;
    if (old.fd !== undefined && old.fd !== snap.fd) closeQuietly(old.fd);
    return snap;
  }

  #unreadable(err: unknown): Error {
    if (err instanceof IdentityFileCorrupt) return err;
    // Out of descriptors or memory says nothing about the file: pass it on as it is, so the
    // log names the real cause instead of asking the operator to fix a file that is fine.
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (code === "EMFILE" || code === "ENFILE" || code === "ENOMEM") return err as Error;
    const message = err instanceof Error ? err.message : String(err);
    return new IdentityFileCorrupt(this.file, `cannot be read (${message})`);
  }
}
