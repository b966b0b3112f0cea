import net from "node:net";
import { workerData } from "node:worker_threads";
import type { HubToThread, LogLevel, ServiceName } from "../protocol/hub-messages.ts";
import { EchoService } from "./echo-service.ts";
import { HubLink } from "./hub-link.ts";
import type { Service } from "./service.ts";
import type { ThreadData } from "./worker-process.ts";

const { config, worker, thread } = workerData as ThreadData;

// A thread that loses the hub exits rather than running headless; its process restarts it.
const link = new HubLink(config.hubPath, dispatch, () => process.exit(1));
link.send({ k: "hello", worker, thread, pid: process.pid });

function log(level: LogLevel, msg: string, meta?: Record<string, unknown>): void {
  link.send({ k: "log", level, msg, meta });
}

let statsQueued = false;
/** Session counts go to the hub at most once per tick, however many sessions changed. */
function sessionsChanged(): void {
  if (statsQueued) return;
  statsQueued = true;
  setImmediate(() => {
    statsQueued = false;
    link.send({ k: "stats", chat: 0, echo: echo.sessions });
  });
}

const echo = new EchoService(log, sessionsChanged);
const services: { service: Service; port: number; server: net.Server | null }[] = [];
if (config.echoPort !== null) services.push({ service: echo, port: config.echoPort, server: null });

function openListeners(): void {
  for (const entry of services) {
    if (entry.server) continue;
    const server = net.createServer({ noDelay: true }, (socket) => entry.service.accept(socket));
    entry.server = server;
    const report = (ok: boolean, error?: string) =>
      link.send({ k: "listening", service: entry.service.name as ServiceName, port: entry.port, ok, error });
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
  for (const entry of services) {
    entry.server?.close();
    entry.server = null;
    link.send({ k: "listening", service: entry.service.name, port: entry.port, ok: false });
  }
}

async function shutdown(graceMs: number): Promise<void> {
  closeListeners();
  await Promise.all(services.map((entry) => entry.service.shutdown(graceMs)));
  await link.close();
  process.exit(0);
}

function dispatch(message: HubToThread): void {
  switch (message.k) {
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
  }
}
