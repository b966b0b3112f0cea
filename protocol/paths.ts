import path from "node:path";

/** Inputs of path resolution: everything comes in as data so the rules stay pure and testable. */
export interface PathEnv {
  env: Record<string, string | undefined>;
  uid: number;
  home: string;
  platform: NodeJS.Platform;
}

export const WINDOWS_PIPE = "\\\\.\\pipe\\tsd-control";

/** Where the control socket is, first match wins (control.md). */
export function resolveSocketPath(flag: string | undefined, pe: PathEnv): string {
  if (flag) return flag;
  if (pe.env.TSD_SOCKET) return pe.env.TSD_SOCKET;
  if (pe.platform === "win32") return WINDOWS_PIPE;
  if (pe.env.RUNTIME_DIRECTORY) return path.join(firstOf(pe.env.RUNTIME_DIRECTORY), "control.sock");
  if (pe.env.XDG_RUNTIME_DIR) return path.join(pe.env.XDG_RUNTIME_DIR, "tsd", "control.sock");
  return path.join("/tmp", `tsd-${pe.uid}`, "control.sock");
}

/**
 * True when the socket's directory is one tsd owns by convention (and may therefore chmod and
 * chgrp). Not systemd's $RUNTIME_DIRECTORY: systemd made it with the unit's mode, and once its
 * owner or group is changed, systemd gives the whole tree back to User:Group before the next
 * command it runs for the unit (ExecReload: `systemctl reload`, logrotate), the socket's
 * --socket-group with it.
 */
export function isOwnSocketDir(socketPath: string, pe: PathEnv): boolean {
  const dir = path.dirname(socketPath);
  if (pe.env.RUNTIME_DIRECTORY && dir === firstOf(pe.env.RUNTIME_DIRECTORY)) return false;
  return path.basename(dir) === "tsd" || path.basename(dir) === `tsd-${pe.uid}`;
}

export function resolveStateDir(flag: string | undefined, pe: PathEnv): string {
  if (flag) return flag;
  if (pe.env.STATE_DIRECTORY) return firstOf(pe.env.STATE_DIRECTORY);
  if (pe.env.XDG_STATE_HOME) return path.join(pe.env.XDG_STATE_HOME, "tsd");
  return path.join(pe.home, ".local", "state", "tsd");
}

export function resolveLogDir(flag: string | undefined, stateDir: string, pe: PathEnv): string {
  if (flag) return flag;
  if (pe.env.LOGS_DIRECTORY) return firstOf(pe.env.LOGS_DIRECTORY);
  return stateDir;
}

/** systemd passes several directories colon-separated; the first is ours. */
function firstOf(list: string): string {
  return list.split(":")[0]!;
}
