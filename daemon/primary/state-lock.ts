import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
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
 * Takes the exclusive lock on a state directory: a socket bound to a name derived from the
 * directory's identity (device and inode, so every path to it, symlinks and bind mounts alike,
 * gives the same name). Binding is the kernel's own test-and-set, and the name is freed the
 * moment the holder dies, even by kill -9: there is no stale lock to judge or to race for. The
 * holder answers anyone who connects with its pid, so a refused daemon can name it.
 *
 * On Linux the name is in the abstract socket namespace (per network namespace); on Windows it
 * is a named pipe; elsewhere a socket file in the directory stands in, whose stale file (bound by
 * a dead holder, nobody answering) is removed and taken over.
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
    if (isFileSocket(address)) fs.rmSync(address, { force: true });
    await new Promise((resolve) => setTimeout(resolve, ATTEMPT_PAUSE_MS));
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

function lockAddress(dir: string): string {
  if (process.platform === "win32") {
    const id = createHash("sha256").update(fs.realpathSync(dir).toLowerCase()).digest("hex").slice(0, 32);
    return `\\\\.\\pipe\\tsd-state-${id}`;
  }
  if (process.platform === "linux") {
    const st = fs.statSync(dir, { bigint: true });
    return `\0tsd-state/${st.dev}:${st.ino}`;
  }
  return path.join(dir, "tsd.lock.sock");
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
