import { JSONRPCErrorException } from "json-rpc-2.0";
import { RpcErrorCode, type StatusResult } from "../../../protocol/rpc.ts";
import type { OnlineUser } from "../hub/chat-hub.ts";
import { type ControlConnection, type ControlMethod, invalidParams } from "./control-server.ts";
import type { LogTail } from "../log/log-tail.ts";
import { MAX_GRACE_MS, MAX_TAIL_LINES, MAX_ANNOUNCE_TEXT } from "../../shared/limits.ts";

export interface IdentitySummary {
  name: string;
  createdAt: string;
  lastLoginAt: string | null;
  lastAddress: string | null;
}

/** What the control methods can ask of the running daemon. */
export interface DaemonControl {
  status(): StatusResult;
  stop(graceMs: number): void;
  /** Returns whether anything changed. */
  pause(): boolean;
  resume(): boolean;
  /** The last lines of the log, bounded in bytes (truncated says so). */
  logsTail(lines: number): Promise<LogTail>;
  logsFollow(conn: ControlConnection): void;
  logsClear(): number;
  logsReopen(): void;
  identitiesList(): Promise<IdentitySummary[]>;
  identitiesWipe(): Promise<number>;
  usersList(): OnlineUser[];
  kick(name: string, reason?: string): boolean;
  announce(text: string): number;
  /** Debug-only fault injection; false when no such thread. */
  crashThread(worker: number, thread: number, mode: "throw" | "freeze"): boolean;
}

function objectParams(params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  if (typeof params !== "object" || Array.isArray(params)) throw invalidParams("params must be an object");
  return params as Record<string, unknown>;
}

function text(params: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = params[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string" || (required && value.trim() === "") || value.length > MAX_ANNOUNCE_TEXT) {
    throw invalidParams(
      `${name} must be a ${required ? "non-empty " : ""}string of at most ${MAX_ANNOUNCE_TEXT} characters`,
    );
  }
  return value;
}

/** The control socket's method table, kept in name order (a test checks it). */
export function buildControlMethods(
  daemon: DaemonControl,
  defaultGraceMs: number,
  opts: { debugFaults?: boolean } = {},
): Record<string, ControlMethod> {
  const serveChatAnnounce: ControlMethod = (params) => {
    const message = text(objectParams(params), "text", true)!;
    return { delivered: daemon.announce(message) };
  };

  const serveDebugCrashThread: ControlMethod = (params) => {
    const { worker, thread, mode = "throw" } = objectParams(params);
    if (!Number.isInteger(worker) || !Number.isInteger(thread))
      throw invalidParams("worker and thread must be integers");
    if (mode !== "throw" && mode !== "freeze") throw invalidParams('mode must be "throw" or "freeze"');
    if (!daemon.crashThread(worker as number, thread as number, mode)) {
      throw new JSONRPCErrorException(`no thread ${thread} in worker ${worker}`, RpcErrorCode.unavailable);
    }
    return { crashing: true };
  };

  const serveIdentitiesList: ControlMethod = () => daemon.identitiesList();

  const serveIdentitiesWipe: ControlMethod = async () => ({ removed: await daemon.identitiesWipe() });

  const serveLogsClear: ControlMethod = () => ({ cleared: true, bytes: daemon.logsClear() });

  const serveLogsReopen: ControlMethod = () => {
    daemon.logsReopen();
    return { reopened: true };
  };

  // Tail reads run one at a time across all connections: each holds up to MAX_TAIL_BYTES.
  let tailReads: Promise<unknown> = Promise.resolve();
  const readTail = (lines: number): Promise<LogTail> => {
    const read = tailReads.then(() => daemon.logsTail(lines));
    tailReads = read.catch(() => {});
    return read;
  };

  const serveLogsTail: ControlMethod = async (params, conn) => {
    const { lines = 50, follow = false } = objectParams(params);
    if (typeof lines !== "number" || !Number.isInteger(lines) || lines < 0 || lines > MAX_TAIL_LINES) {
      throw invalidParams(`lines must be an integer 0-${MAX_TAIL_LINES}`);
    }
    if (typeof follow !== "boolean") throw invalidParams("follow must be true or false");
    const tail = await readTail(lines);
    if (follow) daemon.logsFollow(conn);
    return { lines: tail.lines, truncated: tail.truncated };
  };

  const servePause: ControlMethod = () => ({ paused: true, changed: daemon.pause() });

  const serveResume: ControlMethod = () => ({ paused: false, changed: daemon.resume() });

  const serveStatus: ControlMethod = () => daemon.status();

  const serveStop: ControlMethod = (params) => {
    const { graceMs = defaultGraceMs } = objectParams(params);
    if (typeof graceMs !== "number" || !Number.isFinite(graceMs) || graceMs < 0 || graceMs > MAX_GRACE_MS) {
      throw invalidParams(`graceMs must be a number of milliseconds 0-${MAX_GRACE_MS}`);
    }
    daemon.stop(graceMs);
    return { stopping: true };
  };

  const serveUsersKick: ControlMethod = (params) => {
    const p = objectParams(params);
    const name = text(p, "name", true)!;
    const reason = text(p, "reason", false);
    if (!daemon.kick(name, reason))
      throw new JSONRPCErrorException(`${name} is not online`, RpcErrorCode.notOnline);
    return { kicked: true };
  };

  const serveUsersList: ControlMethod = () => daemon.usersList();

  return {
    "chat.announce": serveChatAnnounce,
    ...(opts.debugFaults ? { "debug.crashThread": serveDebugCrashThread } : {}),
    "identities.list": serveIdentitiesList,
    "identities.wipe": serveIdentitiesWipe,
    "logs.clear": serveLogsClear,
    "logs.reopen": serveLogsReopen,
    "logs.tail": serveLogsTail,
    pause: servePause,
    resume: serveResume,
    status: serveStatus,
    stop: serveStop,
    "users.kick": serveUsersKick,
    "users.list": serveUsersList,
  };
}
