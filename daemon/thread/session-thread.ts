import net from "node:net";
import path from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { SERVER_FULL, TOO_MANY_CONNECTIONS } from "../../protocol/chat-lines.ts";
import { OncePer } from "../../protocol/flood.ts";
import type {
  HubCommand,
  ListenPorts,
  LogLevel,
  LogRecord,
  ThreadData,
} from "../../protocol/hub-messages.ts";
import { ChatService } from "./chat/chat-service.ts";
import { connectionsPerThread } from "./descriptor-budget.ts";
import { ECHO_THREAD, EchoService } from "./echo-service.ts";
import { HubLink, HubRequestFailed } from "./hub-link.ts";
import type { AccountStore } from "../shared/account-store.ts";
import { IdentityStore } from "../shared/identity-store.ts";
import { applyLiveLimits, sessionLimits } from "./live-limits.ts";
import { ConnectionIds } from "./connection-ids.ts";
import { MAX_LINE_CEILING } from "../shared/limits.ts";
import type { Service } from "./service.ts";
import { TLS_HANDSHAKE_TIMEOUT_MS, TlsChatService } from "./tls-chat.ts";
import { MetricsReporter, threadCounters } from "./metrics.ts";
import { collectAfterStorms } from "../shared/storm-gc.ts";

const { config, worker, thread } = workerData as ThreadData;
/** In a cluster the accounts are asked of the hub (hub-accounts.ts): loaded only then, before the link opens. */
const clusterAccounts = config.hub === "redis" ? await import("./hub-accounts.ts") : null;

// A thread that loses the hub exits rather than running headless; its process restarts it.
// The hub cannot carry the news any more, so it goes to the process, which forwards it.
// The link is sized for the largest --max-line there can be: config.set may raise it while the link is up.
const hub = new HubLink(config.hubPath, MAX_LINE_CEILING, dispatch, (reason) => {
  const record: LogRecord = {
    k: "log",
    level: "error",
    msg: "hub link lost; session thread exits",
    meta: { thread, reason },
  };
  parentPort?.postMessage(record);
  process.exit(1);
});
hub.send({ k: "hello", worker, thread });
const metrics = new MetricsReporter((message) => hub.send(message));
collectAfterStorms(() => threadCounters.signIns);

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
let maxLevel = LEVELS[config.logLevel];

function log(level: LogLevel, msg: string, meta?: Record<string, unknown>): void {
  if (LEVELS[level] <= maxLevel) hub.send({ k: "log", level, msg, meta });
}

let statsQueued = false;
/** Session counts go to the hub at most once per tick, however many sessions changed. */
function sessionsChanged(): void {
  if (statsQueued) return;
  statsQueued = true;
  setImmediate(() => {
    statsQueued = false;
    // A TLS session is counted once, as tls (the chat service holds it among its own).
    const overTls = tlsChat ? { tls: tlsChat.sessions } : {};
    hub.send({ k: "stats", chat: chat.sessions - (tlsChat?.chatting ?? 0), echo: echo.sessions, ...overTls });
  });
}

/** Every connection's id (w1t2-17), in each of its log lines; a chat session's sid too. */
const connections = new ConnectionIds(`w${worker}t${thread}`);
const echo = new EchoService(log, sessionsChanged, connections);
const identities: AccountStore = clusterAccounts
  ? new clusterAccounts.HubAccounts(hub, config.reservedNames)
  : new IdentityStore(path.join(config.stateDir, "identities.json"), {
      reservedNames: config.reservedNames,
    });
/** One object for the thread's life: sessions hold it by reference, and a Settings message updates it in place. */
const limits = sessionLimits(config);
const chat = new ChatService(
  {
    hub,
    identities,
    limits,
    log,
  },
  connections,
  sessionsChanged,
);

interface Listener {
  service: Service;
  port: number;
  server: net.Server | null;
}
const listeners: Listener[] = [];
if (config.chatPort !== null) listeners.push({ service: chat, port: config.chatPort, server: null });
if (config.echoPort !== null && thread === ECHO_THREAD)
  listeners.push({ service: echo, port: config.echoPort, server: null });
const tlsChat =
  config.tlsPort === null
    ? null
    : new TlsChatService(chat, log, sessionsChanged, () =>
        Math.min(TLS_HANDSHAKE_TIMEOUT_MS, config.loginTimeoutSeconds * 1000),
      );
if (tlsChat && config.tlsPort !== null)
  listeners.push({ service: tlsChat, port: config.tlsPort, server: null });

/** Connections this thread may hold, from the process's descriptor limit (null: no cap). */
const connectionCap = connectionsPerThread(config.threads);

/** Refusals for want of descriptors, and accept errors, are logged at most once a second. */
const refusalLog = new OncePer(1000);
let refusedSinceLog = 0;
function refused(msg: string, meta: Record<string, unknown>): void {
  refusedSinceLog++;
  if (!refusalLog.ready(Date.now())) return;
  log("error", msg, { ...meta, refused: refusedSinceLog });
  refusedSinceLog = 0;
}

function acceptFailed(service: string, error: NodeJS.ErrnoException): void {
  refused("cannot accept a connection; the listener goes on", {
    service,
    error: error.code ?? error.message,
  });
}

/** A thread at its descriptor budget says so and closes, instead of running the process into EMFILE. */
function overCapacity(service: Service, socket: net.Socket): boolean {
  const open = chat.sessions + echo.sessions + (tlsChat?.handshaking ?? 0);
  if (connectionCap === null || open < connectionCap) return false;
  refused("connection refused: out of file descriptors (raise LimitNOFILE or ulimit -n)", {
    service: service.name,
    cap: connectionCap,
  });
  // The descriptor goes back as soon as the line is in the kernel's hands (close sends it, then
  // FIN), not when the client gets round to closing: refusals must not use up what they protect.
  if (service.name === "chat") socket.write(SERVER_FULL, () => socket.destroy());
  else socket.destroy();
  return true;
}

/** Applies the per-address cap (kept by the hub, across every thread) before a service sees the connection. */
async function admit(service: Service, socket: net.Socket): Promise<void> {
  if (config.maxPerAddress === 0) return service.accept(socket);
  const address = socket.remoteAddress ?? "unknown";
  socket.pause();
  let ok: boolean;
  try {
    ({ ok } = await hub.request({ k: "admit", address }));
  } catch (error) {
    if (!(error instanceof HubRequestFailed)) throw error;
    // The hub could not answer (its handler failed): the connection is not served, nor counted.
    log("error", "connection refused: the hub could not admit it", {
      service: service.name,
      ...connections.fields(socket),
    });
    socket.destroy();
    return;
  }
  if (!ok) {
    log("info", "connection refused: too many from this address", {
      service: service.name,
      ...connections.fields(socket),
    });
    if (service.name === "chat") socket.end(TOO_MANY_CONNECTIONS);
    else socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  if (socket.destroyed) {
    // Closed while the hub was asked: its close event has passed, so release here.
    hub.send({ k: "release", address });
    return;
  }
  socket.once("close", () => hub.send({ k: "release", address }));
  service.accept(socket);
  socket.resume();
}

function openListeners(ports: ListenPorts): void {
  for (const entry of listeners) {
    if (entry.server) continue;
    entry.port = ports[entry.service.name] ?? entry.port;
    const server = net.createServer({ noDelay: true }, (socket) => {
      socket.on("error", () => {});
      if (overCapacity(entry.service, socket)) return;
      void admit(entry.service, socket);
    });
    entry.server = server;
    const report = (ok: boolean, port: number, error?: string) =>
      hub.send({ k: "listening", service: entry.service.name, port, ok, error });
    const listenFailed = (error: Error) => {
      entry.server = null;
      report(false, entry.port, error.message);
    };
    server.once("error", listenFailed);
    server.listen({ host: config.host, port: entry.port, reusePort: true, exclusive: true }, () => {
      server.off("error", listenFailed);
      server.on("error", (error) => acceptFailed(entry.service.name, error));
      report(true, (server.address() as net.AddressInfo).port);
    });
  }
}

function closeListeners(): void {
  for (const entry of listeners) {
    entry.server?.close();
    entry.server = null;
    hub.send({ k: "listening", service: entry.service.name, port: entry.port, ok: false });
  }
}

async function shutdown(graceMs: number): Promise<void> {
  closeListeners();
  await Promise.all(listeners.map((entry) => entry.service.shutdown(graceMs)));
  await identities.flush().catch(() => {});
  await hub.close();
  process.exit(0);
}

/** What the thread does with each message from the hub (the link itself answers pings and settles replies). */
const HUB_COMMANDS: { [K in HubCommand["k"]]: (message: Extract<HubCommand, { k: K }>) => void } = {
  deliver: (message) => chat.deliver(message),
  direct: (message) => chat.direct(message),
  drop: (message) => chat.drop(message),
  welcome: (message) => {
    if (!message.paused && message.ports) openListeners(message.ports);
  },
  tls: (message) => tlsChat?.renew(message.material),
  listen: (message) => {
    if (message.on && message.ports) openListeners(message.ports);
    else if (!message.on) closeListeners();
  },
  shutdown: (message) => void shutdown(message.graceMs),
  bans: (message) => chat.setBans(message.rules),
  metrics: (message) => {
    // The lines the hub sent before it asked are written (and counted) before the answer.
    chat.flushPending();
    metrics.answer(message.seq);
  },
  settings: (message) => {
    applyLiveLimits(config, limits, message.limits);
    maxLevel = LEVELS[config.logLevel];
  },
  crash: (message) =>
    setImmediate(() => {
      if (message.mode !== "freeze") throw new Error("crash requested through debug.crashThread");
      // A frozen event loop, as a bug would make it: only the hub's watchdog ends it.
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }),
};

function dispatch(message: HubCommand): void {
  if (!Object.hasOwn(HUB_COMMANDS, message.k)) return;
  (HUB_COMMANDS[message.k] as (message: HubCommand) => void)(message);
}
