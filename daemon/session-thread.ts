import net from "node:net";
import path from "node:path";
import { workerData } from "node:worker_threads";
import { TOO_MANY_CONNECTIONS } from "../protocol/chat-lines.ts";
import type { AdmitReply, HubToThread, LogLevel } from "../protocol/hub-messages.ts";
import { ChatService } from "./chat-service.ts";
import { EchoService } from "./echo-service.ts";
import { HubLink } from "./hub-link.ts";
import { IdentityStore } from "./identity-store.ts";
import type { Service } from "./service.ts";
import type { ThreadData } from "./worker-process.ts";

const { config, worker, thread } = workerData as ThreadData;

// A thread that loses the hub exits rather than running headless; its process restarts it.
const hub = new HubLink(config.hubPath, dispatch, () => process.exit(1));
hub.send({ k: "hello", worker, thread, pid: process.pid });

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const maxLevel = LEVELS[config.logLevel];

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
    hub.send({ k: "stats", chat: chat.sessions, echo: echo.sessions });
  });
}

const echo = new EchoService(log, sessionsChanged);
const identities = new IdentityStore(path.join(config.stateDir, "identities.json"));
const chat = new ChatService(
  {
    hub,
    identities,
    limits: {
      maxLine: config.maxLine,
      loginTimeoutMs: config.loginTimeoutSeconds * 1000,
      floodBurst: config.floodBurst,
      floodRate: config.floodRate,
      outputLimit: config.outputLimit,
    },
    log,
  },
  `${worker}.${thread}`,
  sessionsChanged,
);

interface Listener {
  service: Service;
  port: number;
  server: net.Server | null;
}
const listeners: Listener[] = [];
if (config.chatPort !== null) listeners.push({ service: chat, port: config.chatPort, server: null });
if (config.echoPort !== null) listeners.push({ service: echo, port: config.echoPort, server: null });

/** Applies the per-address cap (kept by the hub, across every thread) before a service sees the connection. */
async function admit(service: Service, socket: net.Socket): Promise<void> {
  if (config.maxPerAddress === 0) return service.accept(socket);
  const address = socket.remoteAddress ?? "unknown";
  socket.pause();
  const { ok } = await hub.request<AdmitReply>({ k: "admit", address });
  if (!ok) {
    log("info", "connection refused: too many from this address", { service: service.name, address });
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

function openListeners(): void {
  for (const entry of listeners) {
    if (entry.server) continue;
    const server = net.createServer({ noDelay: true }, (socket) => {
      socket.on("error", () => {});
      void admit(entry.service, socket);
    });
    entry.server = server;
    const report = (ok: boolean, error?: string) =>
      hub.send({ k: "listening", service: entry.service.name, port: entry.port, ok, error });
    server.once("error", (error) => {
      entry.server = null;
      report(false, error.message);
    });
    server.listen({ host: config.host, port: entry.port, reusePort: true, exclusive: true }, () =>
      report(true),
    );
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

function dispatch(message: HubToThread): void {
  switch (message.k) {
    case "deliver":
      chat.deliver(message);
      return;
    case "direct":
      chat.direct(message);
      return;
    case "drop":
      chat.drop(message);
      return;
    case "welcome":
      if (!message.paused) openListeners();
      return;
    case "listen":
      if (message.on) openListeners();
      else closeListeners();
      return;
    case "shutdown":
      void shutdown(message.graceMs);
      return;
    case "crash":
      setImmediate(() => {
        throw new Error("crash requested through debug.crashThread");
      });
      return;
    case "reply":
      return;
  }
}
