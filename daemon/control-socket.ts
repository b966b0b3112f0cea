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

/**
 * Prepares the place of a Unix socket the way control.md asks: dial first and refuse if
 * something answers, create the directory 0700 (0750 with a group), remove a stale file.
 * ownDir says the directory is tsd's own, so its mode may be enforced even if it exists.
 */
export async function prepareSocketPath(
  socketPath: string,
  opts: { ownDir: boolean; group?: string | undefined },
): Promise<{ gid: number | null }> {
  if (process.platform === "win32") return { gid: null };
  if (await socketAnswers(socketPath)) throw new DaemonAlreadyRunning(socketPath);
  const dir = path.dirname(socketPath);
  const gid = opts.group ? groupId(opts.group) : null;
  const dirMode = gid === null ? 0o700 : 0o750;
  const created = fs.mkdirSync(dir, { recursive: true, mode: dirMode }) !== undefined;
  if (created || opts.ownDir) {
    const st = fs.statSync(dir);
    if (process.getuid && st.uid !== process.getuid()) {
      throw new Error(`the socket directory ${dir} belongs to another user; refusing to use it`);
    }
    fs.chmodSync(dir, dirMode);
    if (gid !== null) fs.chownSync(dir, st.uid, gid);
  }
  fs.rmSync(socketPath, { force: true });
  return { gid };
}

/** Sets the socket file's mode and group once it is bound. */
export function secureSocketFile(socketPath: string, gid: number | null): void {
  if (process.platform === "win32") return;
  if (gid === null) {
    fs.chmodSync(socketPath, 0o600);
  } else {
    fs.chownSync(socketPath, fs.statSync(socketPath).uid, gid);
    fs.chmodSync(socketPath, 0o660);
  }
}
