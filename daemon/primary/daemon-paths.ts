import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  isOwnSocketDir,
  type PathEnv,
  resolveLogDir,
  resolveSocketPath,
  resolveStateDir,
} from "../../protocol/paths.ts";
import type { DaemonOptions } from "./options.ts";
import { StartupError } from "./startup-error.ts";

/** Where the daemon keeps its files and sockets. */
export interface DaemonPaths {
  socketPath: string;
  /** Whether the socket's directory is the daemon's own to create and secure (paths.ts). */
  ownSocketDir: boolean;
  stateDir: string;
  logDir: string;
  identitiesFile: string;
  historyFile: string;
  /** The session threads' hub: a socket beside the control socket, a named pipe on Windows. */
  hubPath: string;
}

/** The paths from the options, the environment and control.md's lookup order. */
export function daemonPaths(opts: DaemonOptions): DaemonPaths {
  const env: PathEnv = {
    env: process.env,
    uid: process.getuid?.() ?? 0,
    home: os.homedir(),
    platform: process.platform,
  };
  const socketPath = resolveSocketPath(opts.socket, env);
  const stateDir = resolveStateDir(opts.stateDir, env);
  return {
    socketPath,
    ownSocketDir: isOwnSocketDir(socketPath, env),
    stateDir,
    logDir: resolveLogDir(opts.logDir, stateDir, env),
    identitiesFile: path.join(stateDir, "identities.json"),
    historyFile: path.join(stateDir, "history.jsonl"),
    hubPath: process.platform === "win32" ? `\\\\.\\pipe\\tsd-hub-${process.pid}` : `${socketPath}.hub`,
  };
}

/** Creates dir (0700) if need be; a directory the daemon cannot write is a StartupError. */
export function ensureWritableDir(dir: string, what: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    throw new StartupError(`the ${what} directory ${dir} is not writable: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
