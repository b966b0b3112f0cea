import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import lockfile from "proper-lockfile";
import { STATE_LOCK_ANSWER_TIMEOUT_MS } from "../shared/limits.ts";

/** Another live process holds the state directory. */
export class StateDirInUse extends Error {
  readonly dir: string;
  /** The holder's pid, as it answered; null when it did not answer in time. */
  readonly pid: number | null;
  constructor(dir: string, pid: number | null) {
    super(
      pid === null
        ? `the state directory ${dir} is in use by another process, which did not say its pid; stop it or pick another --state-dir`
        : `the state directory ${dir} is in use by another tsd-daemon (pid ${pid}); stop it or pick another --state-dir`,
    );
    this.name = "StateDirInUse";
    this.dir = dir;
    this.pid = pid;
  }
}

/** The lock could not be taken for a reason other than another holder. */
export class StateLockFailed extends Error {
  constructor(dir: string, cause: Error) {
    super(`cannot lock the state directory ${dir}: ${cause.message}`, { cause });
    this.name = "StateLockFailed";
  }
}

/** Held for the daemon's whole life; the kernel lets go of it when the process ends, however it ends. */
export interface StateLock {
  readonly dir: string;
  release(): Promise<void>;
}

/** A holder that is still binding (or, on a filesystem socket, a stale file) is tried again this often. */
const ATTEMPTS = 20;
const ATTEMPT_PAUSE_MS = 50;

/**
 * Takes the exclusive lock on a state directory: a Unix socket file inside it (on Windows a
 * named pipe named after the directory), bound and listening for the daemon's life. Binding is
 * the kernel's own test-and-set, and a socket nobody listens on any more refuses connections the
 * moment its holder dies, even by kill -9, so a stale file is told from a live holder without
 * guessing; the holder answers anyone who connects with its pid, so a refused daemon can name it.
 *
 * A file in the directory, not an abstract socket name: an abstract name is per network
 * namespace (a daemon in a container or under PrivateNetwork= would not see it) and anyone on
 * the machine may bind it first, while only the directory's owner can create a file in it.
 * Taking over a stale file is serialised by a proper-lockfile lock, so two daemons starting at
 * once after a crash cannot both remove it and both bind.
 */
export async function lockStateDir(dir: string): Promise<StateLock> {
  let address: string;
  try {
    address = lockAddress(dir);
  } catch (error) {
    throw new StateLockFailed(dir, error as Error);
  }
  for (let attempt = 1; ; attempt++) {
    const server = holderServer();
    const bound = await bind(server, address);
    if (bound === null) {
      server.unref();
      return { dir, release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    }
    if (bound.code !== "EADDRINUSE") throw new StateLockFailed(dir, bound);
    const holder = await askHolder(address);
    if (holder.pid !== undefined) throw new StateDirInUse(dir, holder.pid);
    // Bound but silent: a holder that is stopped or is not tsd. Refused: one still starting, or a stale file.
    if (!holder.refused || attempt >= ATTEMPTS) throw new StateDirInUse(dir, null);
    if (isFileSocket(address)) await removeStaleSocket(address);
    else await new Promise((resolve) => setTimeout(resolve, ATTEMPT_PAUSE_MS));
  }
}

/** The lock's socket: it answers every connection with the holder's pid. */
function holderServer(): net.Server {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.end(`${JSON.stringify({ pid: process.pid })}\n`);
  });
  return server;
}

/** Unix socket paths are limited to 108 bytes with the terminating NUL (sun_path). */
const MAX_SOCKET_PATH = 107;

function lockAddress(dir: string): string {
  if (process.platform === "win32") {
    const id = createHash("sha256").update(fs.realpathSync(dir).toLowerCase()).digest("hex").slice(0, 32);
    return `\\\\.\\pipe\\tsd-state-${id}`;
  }
  const address = path.join(dir, "tsd.lock.sock");
  if (Buffer.byteLength(address) > MAX_SOCKET_PATH)
    throw new Error(
      `its lock socket path ${address} is longer than the ${MAX_SOCKET_PATH} bytes a Unix socket allows; pick a shorter --state-dir`,
    );
  return address;
}

/**
 * Removes a socket file nobody answers at, under a proper-lockfile lock, and only if it is still
 * unanswered once the lock is held: a daemon that took it over meanwhile is left alone.
 */
async function removeStaleSocket(address: string): Promise<void> {
  const release = await lockfile.lock(address, {
    realpath: false,
    lockfilePath: `${address}.takeover`,
    stale: 10_000,
    retries: { retries: ATTEMPTS, minTimeout: ATTEMPT_PAUSE_MS, maxTimeout: 500 },
  });
  try {
    if ((await askHolder(address)).refused) fs.rmSync(address, { force: true });
  } finally {
    await release();
  }
}

function isFileSocket(address: string): boolean {
  return !address.startsWith("\0") && !address.startsWith("\\\\.\\pipe\\");
}

/** Resolves null once listening, or with the error that prevented it. */
function bind(server: net.Server, address: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException) => resolve(error);
    server.once("error", onError);
    server.listen({ path: address }, () => {
      server.off("error", onError);
      // Errors after this are about one asking connection; the lock itself stays bound.
      server.on("error", () => {});
      if (isFileSocket(address)) fs.chmodSync(address, 0o600);
      resolve(null);
    });
  });
}

/** Asks whoever holds address for its pid; refused: nobody is listening there. */
function askHolder(address: string): Promise<{ pid?: number; refused: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ path: address });
    let text = "";
    const finish = (result: { pid?: number; refused: boolean }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ refused: false }), STATE_LOCK_ANSWER_TIMEOUT_MS);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (text.length > 1024) finish({ refused: false });
    });
    socket.on("end", () => {
      let pid: unknown;
      try {
        pid = (JSON.parse(text) as { pid?: unknown }).pid;
      } catch {}
      finish(Number.isSafeInteger(pid) ? { pid: pid as number, refused: false } : { refused: false });
    });
    socket.on("error", (error: NodeJS.ErrnoException) =>
      finish({ refused: error.code === "ECONNREFUSED" || error.code === "ENOENT" }),
    );
  });
}
