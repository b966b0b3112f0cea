import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

export class DaemonAlreadyRunning extends Error {
  constructor(socketPath: string) {
    super(`another tsd-daemon is already running: its control socket ${socketPath} answers`);
    this.name = "DaemonAlreadyRunning";
  }
}

/** Resolves true when something accepts a connection at socketPath. */
export function socketAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    const done = (answer: boolean) => {
      probe.destroy();
      resolve(answer);
    };
    probe.setTimeout(timeoutMs, () => done(true));
    probe.once("connect", () => done(true));
    probe.once("error", () => done(false));
  });
}

function groupId(name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const line = execFileSync("getent", ["group", name], { encoding: "utf8" }).trim();
  const gid = Number(line.split(":")[2]);
  if (!Number.isInteger(gid)) throw new Error(`unknown group ${name}`);
  return gid;
}

/** The socket directory cannot be used safely: a link, not a directory, or another user's. */
export class UnsafeSocketDirectory extends Error {
  constructor(dir: string, why: string) {
    super(
      `the socket directory ${dir} ${why}; refusing to use it (remove it, or choose another place with --socket)`,
    );
    this.name = "UnsafeSocketDirectory";
  }
}

/** A socket file that is not what tsd just bound there (a link or another user's file); it is not touched. */
export class UnsafeSocketFile extends Error {
  constructor(file: string, why: string) {
    super(`the socket ${file} ${why}; refusing to change its mode`);
    this.name = "UnsafeSocketFile";
  }
}

function lstatOrNull(file: string): fs.Stats | null {
  try {
    return fs.lstatSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/**
 * securePrivateDir creates dir, or accepts the one already there only if it is a real
 * directory owned by us, and sets its mode (and group) through a descriptor opened with
 * O_NOFOLLOW on what lstat saw. A link planted at the path, by another user in /tmp say, is
 * refused: never followed, never chmod-ed through.
 */
function securePrivateDir(dir: string, mode: number, gid: number | null): void {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  try {
    fs.mkdirSync(dir, { mode }); // mkdir never follows a link at its last component: EEXIST
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const seen = fs.lstatSync(dir);
  if (seen.isSymbolicLink()) throw new UnsafeSocketDirectory(dir, "is a symbolic link");
  if (!seen.isDirectory()) throw new UnsafeSocketDirectory(dir, "is not a directory");
  const uid = process.getuid?.();
  if (uid !== undefined && seen.uid !== uid) {
    throw new UnsafeSocketDirectory(dir, `belongs to another user (uid ${seen.uid})`);
  }
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR")
      throw new UnsafeSocketDirectory(dir, "was replaced while it was checked");
    throw error;
  }
  try {
    const held = fs.fstatSync(fd);
    if (held.dev !== seen.dev || held.ino !== seen.ino) {
      throw new UnsafeSocketDirectory(dir, "was replaced while it was checked");
    }
    fs.fchmodSync(fd, mode);
    if (gid !== null) fs.fchownSync(fd, held.uid, gid);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Prepares the place of a Unix socket the way control.md asks: dial first and refuse if
 * something answers, make its directory private (0700, 0750 with a group), remove a stale
 * file. The directory is made private when ownDir says it is tsd's own (the default runtime
 * directories) or when it does not exist yet; an existing directory the operator named with
 * --socket is used as it is. The hub socket lives beside the control socket, so this covers
 * its directory too.
 */
export async function prepareSocketPath(
  socketPath: string,
  opts: { ownDir: boolean; group?: string | undefined },
): Promise<{ gid: number | null }> {
  if (process.platform === "win32") return { gid: null };
  if (await socketAnswers(socketPath)) throw new DaemonAlreadyRunning(socketPath);
  const dir = path.dirname(socketPath);
  const gid = opts.group ? groupId(opts.group) : null;
  if (opts.ownDir || lstatOrNull(dir) === null) securePrivateDir(dir, gid === null ? 0o700 : 0o750, gid);
  fs.rmSync(socketPath, { force: true });
  return { gid };
}

/**
 * Sets a bound socket's mode (0600, or 0660 and the group). It checks first that the path is
 * a socket of ours and not a link, since chmod would follow a link swapped in for it.
 */
export function secureSocketFile(socketPath: string, gid: number | null): void {
  if (process.platform === "win32") return;
  const st = fs.lstatSync(socketPath);
  if (!st.isSocket())
    throw new UnsafeSocketFile(socketPath, "is not a socket (a link or a file was put in its place)");
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new UnsafeSocketFile(socketPath, `belongs to another user (uid ${st.uid})`);
  if (gid === null) {
    fs.chmodSync(socketPath, 0o600);
  } else {
    fs.chownSync(socketPath, st.uid, gid);
    fs.chmodSync(socketPath, 0o660);
  }
}
