/**
 * The messages between session threads (and worker processes) and the hub in the primary.
 * Both ends import these types; each side dispatches through a table keyed by `k`.
 * Framing: one JSON text per line on the hub socket (see ndjson.ts), or a structured clone
 * on the cluster IPC channel.
 */

export type LogLevel = "error" | "warn" | "info" | "debug";

export type ServiceName = "chat" | "echo";

/** Thread -> hub: the first message on a new link. */
export interface Hello {
  k: "hello";
  worker: number;
  thread: number;
  pid: number;
}

/** Thread -> hub: the outcome of one listen attempt. */
export interface Listening {
  k: "listening";
  service: ServiceName;
  port: number;
  ok: boolean;
  error?: string;
}

/** Thread -> hub: the thread's current session counts (sent when they change, coalesced). */
export interface Stats {
  k: "stats";
  chat: number;
  echo: number;
}

/** Any side -> primary: one log record, logged by the primary's one logger. */
export interface LogRecord {
  k: "log";
  level: LogLevel;
  msg: string;
  meta?: Record<string, unknown>;
}

export type ThreadToHub = Hello | Listening | Stats | LogRecord;

/** Hub -> thread: the answer to hello. */
export interface Welcome {
  k: "welcome";
  paused: boolean;
}

/** Hub -> thread: open (on) or close every listener. */
export interface Listen {
  k: "listen";
  on: boolean;
}

/** Hub -> thread: stop accepting, tell the clients, close them within graceMs. */
export interface Shutdown {
  k: "shutdown";
  graceMs: number;
}

export type HubToThread = Welcome | Listen | Shutdown;

/** Worker process -> primary over cluster IPC. */
export type ProcessToPrimary = LogRecord;

/** What a worker process needs to run its threads; passed in its environment as JSON. */
export interface ServiceConfig {
  host: string;
  chatPort: number | null;
  echoPort: number | null;
  threads: number;
  hubPath: string;
  maxLine: number;
  loginTimeoutSeconds: number;
  maxPerAddress: number;
  floodBurst: number;
  floodRate: number;
  outputLimit: number;
}

export const WORKER_CONFIG_ENV = "TSD_WORKER_CONFIG";
