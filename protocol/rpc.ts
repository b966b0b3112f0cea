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
} as const;

/** The longest request line the control socket reads before it answers with an error and hangs up. */
export const MAX_CONTROL_LINE = 1 << 20;

export interface ListenerStatus {
  service: "chat" | "echo";
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
  sessions: { chat: number; echo: number };
  usersOnline: number;
}

export interface StopParams {
  graceMs?: number;
}
