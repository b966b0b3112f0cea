/** The control socket's methods, result shapes and error codes (control.md). */

export const RpcErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  /** Application errors, in JSON-RPC's server range. */
  notOnline: -32001,
  unavailable: -32002,
  requestTooLarge: -32003,
  /** The answer would be over MAX_ANSWER_BYTES (alone, or with the batch's earlier answers). */
  answerTooLarge: -32004,
  /** bans.remove of a target that is not banned. */
  notBanned: -32005,
  /** identities.remove / identities.reset / users.mute of a name with no account. */
  noSuchAccount: -32006,
  /** config.set of an option that cannot change while the daemon runs. */
  needsRestart: -32007,
  /** config.set / config.get of a key that is not an option. */
  unknownOption: -32008,
  /** reload: a step failed (a broken config file changes nothing); the message names the step. */
  reloadFailed: -32009,
  /** resume: a port was taken while paused (the daemon stays paused); the message names it. */
  portUnavailable: -32010,
} as const;

/** The longest request line the control socket reads before it answers with an error and hangs up. */
export const MAX_CONTROL_LINE = 1 << 20;
/** The most requests one batch may hold; a longer batch gets one error and none of it runs. */
export const MAX_BATCH = 1000;
/**
 * The most bytes one answer line may take, a batch's answers together included; past it a
 * request's answer is replaced by an answerTooLarge error, so no request can make the daemon
 * build a string without bound.
 */
export const MAX_ANSWER_BYTES = 8 << 20;
/** The most bytes of log lines one logs.tail answer carries; older lines are left out and the answer says truncated. */
export const MAX_TAIL_BYTES = 4 << 20;

export type RpcId = string | number | null;

/** A request as the control socket accepts it: id absent for a notification, which gets no answer. */
export interface RpcRequest {
  id?: RpcId;
  method: string;
  params?: unknown;
}

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

export type RpcResponse =
  | { jsonrpc: "2.0"; id: RpcId; result: unknown }
  | { jsonrpc: "2.0"; id: RpcId; error: RpcError };

export function errorResponse(id: RpcId, code: number, message: string, data?: unknown): RpcResponse {
  return { jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } };
}

function isId(value: unknown): value is RpcId {
  return value === null || typeof value === "string" || (typeof value === "number" && Number.isFinite(value));
}

/**
 * checkRequest holds one parsed JSON value to JSON-RPC 2.0's request shape: an object with
 * jsonrpc "2.0", a string method, an id that is a string, a number or null (or absent), and
 * params that are an object or an array (or absent). Anything else is -32600 Invalid Request,
 * echoing the id only when the id itself is valid.
 */
export function checkRequest(value: unknown): { request: RpcRequest } | { invalid: RpcResponse } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { invalid: errorResponse(null, RpcErrorCode.invalidRequest, "Invalid Request: not an object") };
  }
  const { jsonrpc, id, method, params } = value as Record<string, unknown>;
  if (id !== undefined && !isId(id)) {
    return {
      invalid: errorResponse(
        null,
        RpcErrorCode.invalidRequest,
        "Invalid Request: id must be a string, a number or null",
      ),
    };
  }
  const echo = id ?? null;
  if (jsonrpc !== "2.0") {
    return {
      invalid: errorResponse(echo, RpcErrorCode.invalidRequest, 'Invalid Request: jsonrpc must be "2.0"'),
    };
  }
  if (typeof method !== "string") {
    return {
      invalid: errorResponse(echo, RpcErrorCode.invalidRequest, "Invalid Request: method must be a string"),
    };
  }
  // A null params is taken as none, as the json-rpc-2.0 library before this check did.
  if (params !== undefined && params !== null && typeof params !== "object") {
    return {
      invalid: errorResponse(
        echo,
        RpcErrorCode.invalidRequest,
        "Invalid Request: params must be an object or an array",
      ),
    };
  }
  const given = params ?? undefined;
  return { request: id === undefined ? { method, params: given } : { id, method, params: given } };
}

export interface ListenerStatus {
  service: "chat" | "echo" | "chat-tls";
  host: string;
  port: number;
  listening: boolean;
}

export interface WorkerStatus {
  id: number;
  pid: number;
  threads: number;
  sessions: number;
  /** Sessions of each of the worker's threads, in thread order (an addition to control.md's shape). */
  threadSessions: number[];
}

export interface StatusResult {
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  paused: boolean;
  listeners: ListenerStatus[];
  workers: WorkerStatus[];
  sessions: { chat: number; echo: number; tls?: number };
  usersOnline: number;
  /** In a cluster (--hub redis, cluster.md): its name, Redis, and every live daemon; absent otherwise. */
  cluster?: ClusterStatus;
}

/** The cluster as status shows it: lastSeenSeconds is the time since that daemon's last heartbeat. */
export interface ClusterStatus {
  name: string;
  /** fault: what is wrong with Redis now (down, refusing writes), one sentence; absent when nothing is. */
  redis: { url: string; connected: boolean; fault?: string };
  nodes: { id: string; host: string; pid: number; users: number; lastSeenSeconds: number }[];
}

/** One signed-in user, as users.list answers. */
export interface OnlineUser {
  name: string;
  address: string;
  /** ISO 8601 */
  since: string;
  /** A worker's id, as in status. */
  worker: number;
  thread: number;
  /** The user's /away text; null when not away. */
  away: string | null;
  /** In a cluster: the node id of the daemon that holds the user. */
  node?: string;
}

/** One account as identities.list answers: never its password hash. */
export interface IdentitySummary {
  name: string;
  /** ISO 8601 */
  createdAt: string;
  lastLoginAt: string | null;
  lastAddress: string | null;
}

/** pause and resume: the state now, and whether the call changed it. */
export interface PauseResult {
  paused: boolean;
  changed: boolean;
}

/** logs.tail: the last lines; truncated when older ones did not fit MAX_TAIL_BYTES. */
export interface LogsTailResult {
  lines: string[];
  truncated: boolean;
}

/** The logs.line notification a following logs.tail streams. */
export interface LogLineNotice {
  line: string;
}

/** bans.list: one ban; `until` null when permanent. */
export interface BanEntry {
  /** An address, a CIDR (IPv4 or IPv6) or a name. */
  target: string;
  reason: string | null;
  /** ISO 8601 */
  createdAt: string;
  /** ISO 8601, or null when permanent. */
  until: string | null;
}

/** The option values in force, by option name as on the command line (`flood-rate`); never a secret. */
export type ConfigValues = Record<string, string | number | boolean | string[] | null>;

/** metrics: counters since start and gauges (control.md). */
export interface MetricsResult {
  connections: { chat: number; echo: number; tls: number };
  usersOnline: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  signIns: number;
  signInFailures: number;
  registrations: number;
  kicks: number;
  floodDrops: number;
  outputLimitDisconnects: number;
  /** Per session thread: its sessions and event-loop lag (an addition to control.md's shape). */
  threads?: {
    worker: number;
    thread: number;
    sessions: number;
    lagP50Ms: number;
    lagP99Ms: number;
    lagMaxMs: number;
  }[];
}

/** rpc.discover: one method. */
export interface MethodDescription {
  name: string;
  /** Param name to a short type/description, e.g. {"name": "string", "forSeconds?": "number"}. */
  params: Record<string, string>;
  description: string;
}

/** Each control method's result, by method name: what the daemon answers and what tsctl reads. */
export interface ControlResults {
  "chat.announce": { delivered: number };
  "debug.crashThread": { crashing: true };
  "identities.list": IdentitySummary[];
  "identities.wipe": { removed: number };
  "logs.clear": { cleared: true; bytes: number };
  "logs.reopen": { reopened: true };
  "logs.tail": LogsTailResult;
  pause: PauseResult;
  resume: PauseResult;
  status: StatusResult;
  stop: { stopping: true };
  "users.kick": { kicked: true };
  "users.list": OnlineUser[];
  "bans.add": { banned: true; disconnected: number };
  "bans.list": BanEntry[];
  "bans.remove": { removed: true };
  "users.mute": { muted: true; until: string | null };
  "users.unmute": { muted: false };
  "identities.remove": { removed: true };
  "identities.reset": { name: string; oneTimePassword: string };
  "config.get": ConfigValues;
  "config.set": { key: string; value: ConfigValues[string]; previous: ConfigValues[string] };
  /** waitingForRestart: the restart-only options the config file changes (absent when none). */
  reload: { reloaded: string[]; waitingForRestart?: string[] };
  metrics: MetricsResult;
  "rpc.discover": MethodDescription[];
}

/** Methods added by the second round of contracts, optional in the method table until each is served. */
export type NewControlMethodName =
  | "bans.add"
  | "bans.list"
  | "bans.remove"
  | "users.mute"
  | "users.unmute"
  | "identities.remove"
  | "identities.reset"
  | "config.get"
  | "config.set"
  | "reload"
  | "metrics"
  | "rpc.discover";

export type ControlMethodName = keyof ControlResults;
