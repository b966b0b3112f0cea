import { execFile } from "node:child_process";
import { readFile, readlink } from "node:fs/promises";
import type net from "node:net";
import path from "node:path";

/** How long `ss` may take to list the sockets; past it the client is "a control client". */
const SS_TIMEOUT_MS = 2000;

/**
 * What the log says when the platform does not tell who is at the other end: then only the
 * socket's mode says who it can be (0600: the daemon's user or root; 0660: also its group).
 */
export const UNKNOWN_PEER = `a control client (uid unknown; the socket lets in only uid ${process.getuid?.() ?? "?"}, root and a --socket-group)`;

/** One Unix stream socket as `ss -xpnH` lists it: its inode, its peer's, and its process if ss could read it. */
interface UnixSocketRow {
  inode: string;
  peer: string;
  pid: number | null;
}

/** Parses `ss -xpnH` lines: `u_str ESTAB 0 0 PATH|* INODE * PEER_INODE [users:(("name",pid=N,fd=M))]`. */
export function parseSsRows(text: string): UnixSocketRow[] {
  const rows: UnixSocketRow[] = [];
  for (const line of text.split("\n")) {
    const m = /^u_str\s+\S+\s+\d+\s+\d+\s+.*?\s(\d+)\s+\S+\s+(\d+)(?:\s+users:\(\(.*?pid=(\d+))?/.exec(line);
    if (m) rows.push({ inode: m[1]!, peer: m[2]!, pid: m[3] === undefined ? null : Number(m[3]) });
  }
  return rows;
}

function listUnixSockets(): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("ss", ["-xpnH"], { timeout: SS_TIMEOUT_MS, maxBuffer: 16 << 20 }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    ),
  );
}

/**
 * describePeer names the process at the other end of a control connection for the log: `uid 1000
 * (pid 4242 tsctl)`. Node has no SO_PEERCRED, so on Linux it goes the way `ss` does: the
 * connection's inode from /proc/self/fd, its peer's inode from the kernel's socket diagnostics
 * (`ss -xpn`, which also names the peer's process where /proc lets it), and the uid from
 * /proc/PID/status. Where any step is not possible (another platform, no `ss`, a client of
 * another user whose /proc entries are closed to us) it says so: UNKNOWN_PEER. Never throws.
 */
export async function describePeer(socket: net.Socket): Promise<string> {
  if (process.platform !== "linux") return UNKNOWN_PEER;
  try {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== "number" || fd < 0) return UNKNOWN_PEER;
    const inode = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/self/fd/${fd}`))?.[1];
    if (!inode) return UNKNOWN_PEER;
    const rows = parseSsRows(await listUnixSockets());
    const peer = rows.find((r) => r.inode === inode)?.peer;
    const pid = rows.find((r) => r.inode === peer)?.pid;
    if (pid === undefined || pid === null) return UNKNOWN_PEER;
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    if (uid === undefined) return UNKNOWN_PEER;
    // The program and its script ("node tsctl.js"): a Node process's own name is its thread's, MainThread.
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0").filter(Boolean);
    const command = argv
      .slice(0, 2)
      .map((arg) => path.basename(arg))
      .join(" ");
    return `uid ${uid} (pid ${pid}${command ? ` ${command}` : ""})`;
  } catch {
    return UNKNOWN_PEER;
  }
}
