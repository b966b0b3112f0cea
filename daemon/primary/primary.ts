import cluster from "node:cluster";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ListenPorts, LogLevel, ServiceConfig, ServiceName } from "../../protocol/hub-messages.ts";
import { WORKER_CONFIG_ENV } from "../../protocol/hub-messages.ts";
import {
  isOwnSocketDir,
  type PathEnv,
  resolveLogDir,
  resolveSocketPath,
  resolveStateDir,
} from "../../protocol/paths.ts";
import { buildControlMethods, type DaemonControl } from "./control/control-methods.ts";
import { createControlServer } from "./control/control-server.ts";
import { entryFile } from "../shared/entry-file.ts";
import { prepareSocketPath, secureSocketFile } from "./control/control-socket.ts";
import { EmbeddedChatHub } from "./hub/chat-hub.ts";
import { HistoryStore } from "./hub/history-store.ts";
import { HubServer, type ThreadLink } from "./hub/hub-server.ts";
import { IdentityFileCorrupt, IdentityStore, removeIdentityLeftovers } from "../shared/identity-store.ts";
import { readLastLines } from "./log/log-tail.ts";
import { createLogger } from "./log/logger.ts";
import type { DaemonOptions } from "./options.ts";
import { notifyReady } from "./sd-notify.ts";
import { lockStateDir } from "./state-lock.ts";
import { WorkerSupervisor } from "./supervisor.ts";
import {
  STARTUP_TIMEOUT_MS,
  DEFAULT_GRACE_MS,
  MAX_FOLLOW_BACKLOG,
  PING_INTERVAL_MS,
} from "../shared/limits.ts";

export class StartupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
  }
}

function pathEnv(): PathEnv {
  return { env: process.env, uid: process.getuid?.() ?? 0, home: os.homedir(), platform: process.platform };
}

function readVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

function ensureWritableDir(dir: string, what: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    throw new StartupError(`the ${what} directory ${dir} is not writable: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Runs the primary: supervisor, hub, control socket and the one logger. Resolves when it has started. */
export async function runPrimary(opts: DaemonOptions): Promise<void> {
  const pe = pathEnv();
  const socketPath = resolveSocketPath(opts.socket, pe);
  const stateDir = resolveStateDir(opts.stateDir, pe);
  const logDir = resolveLogDir(opts.logDir, stateDir, pe);
  const { gid } = await prepareSocketPath(socketPath, {
    ownDir: isOwnSocketDir(socketPath, pe),
    group: opts.socketGroup,
  }).catch((error: Error) => {
    throw new StartupError(error.message, { cause: error });
  });
  ensureWritableDir(stateDir, "state");
  // Held for the daemon's life, before anything in the state directory is read or written.
  await lockStateDir(stateDir).catch((error: Error) => {
    throw new StartupError(error.message, { cause: error });
  });
  const leftovers = await removeIdentityLeftovers(path.join(stateDir, "identities.json"));
  // An unwritable log directory is not fatal: the daemon serves and logs to stdout (the log file says so once).
  try {
    fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
  } catch {}

  const identities = new IdentityStore(path.join(stateDir, "identities.json"));
  try {
    await identities.check();
  } catch (error) {
    if (error instanceof IdentityFileCorrupt) throw new StartupError(error.message, { cause: error });
    throw error;
  }

  const logger = createLogger({
    level: opts.logLevel,
    format: opts.logFormat,
    logDir,
    maxBytes: opts.logMaxBytes,
    keep: opts.logKeep,
  });
  const log = (level: LogLevel, msg: string, meta?: Record<string, unknown>) => logger.log(level, msg, meta);
  if (leftovers.length > 0)
    log("warn", "removed what an interrupted identity write left behind", { leftovers });
  const startedAt = new Date();

  // A port of 0 is picked by the first session thread that listens (the kernel chooses, in a real
  // listener that serves what it accepts); the other threads wait for it and join that port.
  const services: { name: ServiceName; port: number }[] = [];
  if (opts.chatPort !== null) services.push({ name: "chat", port: opts.chatPort });
  if (opts.echoPort !== null) services.push({ name: "echo", port: opts.echoPort });
  const portsUnknown = () => services.some((s) => s.port === 0);
  const listenPorts = (): ListenPorts => Object.fromEntries(services.map((s) => [s.name, s.port]));
  let portPicker: ThreadLink | null = null;
  const waitingForPorts = new Set<ThreadLink>();

  const hubPath = process.platform === "win32" ? `\\\\.\\pipe\\tsd-hub-${process.pid}` : `${socketPath}.hub`;
  if (process.platform !== "win32") fs.rmSync(hubPath, { force: true });

  let paused = false;
  let stopping = false;
  const expectedListeners = opts.workers * opts.threads * services.length;
  const ready = Promise.withResolvers<void>();
  const startupListeners = new Set<string>();

  const history = await HistoryStore.open({
    file: path.join(stateDir, "history.jsonl"),
    memoryLimit: opts.historyKeep,
    diskLimitBytes: opts.historyMaxBytes,
    onError: (error: Error) =>
      log("error", "cannot write the history file; unwritten lines are held in memory and retried", {
        error: error.message,
      }),
    onRecovered: (report) => log("info", "the history file is written again", { ...report }),
  });
  if (history.skippedOnLoad > 0)
    log("warn", "history records skipped on load (cut short or corrupt)", { skipped: history.skippedOnLoad });
  const chat = new EmbeddedChatHub({
    maxPerAddress: opts.maxPerAddress,
    registrationsPerHour: opts.registrationsPerHour,
    history,
    log,
    debug: opts.logLevel === "debug",
  });

  const hub = new HubServer(
    chat,
    {
      onHello: (link) => {
        log("info", "session thread connected", { worker: link.worker, thread: link.thread });
        if (portsUnknown()) {
          if (portPicker) {
            waitingForPorts.add(link);
            return { paused: paused || stopping, ports: null };
          }
          portPicker = link;
        }
        return { paused: paused || stopping, ports: listenPorts() };
      },
      onListening: (link, service, ok, port, error) => {
        if (error) {
          log("error", "listen failed", { worker: link.worker, thread: link.thread, service, port, error });
          ready.reject(
            new StartupError(`cannot listen for ${service} on ${formatHost(opts.host)}:${port}: ${error}`),
          );
          return;
        }
        const entry = services.find((s) => s.name === service);
        if (ok && entry && entry.port === 0) {
          entry.port = port;
          if (!portsUnknown()) {
            portPicker = null;
            for (const waiting of waitingForPorts)
              waiting.send({ k: "listen", on: !(paused || stopping), ports: listenPorts() });
            waitingForPorts.clear();
          }
        }
        if (ok) startupListeners.add(`${link.worker}.${link.thread}.${service}`);
        if (startupListeners.size >= expectedListeners) ready.resolve();
      },
      onLog: (link, record) => {
        const source = link ? `w${link.worker}.t${link.thread}` : "thread";
        logger.log(record.level, record.msg, { ...record.meta, source });
      },
      onGone: (link) => {
        if (!stopping) log("warn", "session thread gone", { worker: link.worker, thread: link.thread });
        waitingForPorts.delete(link);
        if (portPicker === link) {
          // The thread picking the port died first: the next waiting thread picks it.
          portPicker = waitingForPorts.values().next().value ?? null;
          if (portPicker) {
            waitingForPorts.delete(portPicker);
            portPicker.send({ k: "listen", on: true, ports: listenPorts() });
          }
        }
      },
      onUnresponsive: (link, silentMs) => {
        log("error", "session thread not answering its hub; restarting it", {
          worker: link.worker,
          thread: link.thread,
          silentMs,
        });
        const worker = supervisor.workers.find((w) => w.id === link.worker);
        worker?.send({ k: "restart-thread", thread: link.thread });
      },
    },
    { maxLine: opts.maxLine, pingIntervalMs: PING_INTERVAL_MS, threadTimeoutMs: opts.threadTimeout * 1000 },
  );
  await hub.listen(hubPath);
  secureSocketFile(hubPath, null);

  const config: ServiceConfig = {
    host: opts.host,
    chatPort: services.find((s) => s.name === "chat")?.port ?? null,
    echoPort: services.find((s) => s.name === "echo")?.port ?? null,
    threads: opts.threads,
    hubPath,
    maxLine: opts.maxLine,
    loginTimeoutSeconds: opts.loginTimeout,
    maxPerAddress: opts.maxPerAddress,
    floodBurst: opts.floodBurst,
    floodRate: opts.floodRate,
    outputLimit: opts.outputLimit,
    stateDir,
    logLevel: opts.logLevel,
    reservedNames: opts.reservedNames,
  };

  cluster.setupPrimary({ exec: fileURLToPath(entryFile("../worker/worker-process", import.meta.url)) });
  const supervisor = new WorkerSupervisor(
    opts.workers,
    { [WORKER_CONFIG_ENV]: JSON.stringify(config) },
    log,
    (worker, record) => {
      if (record?.k === "log")
        logger.log(record.level, record.msg, { ...record.meta, source: `w${worker.id}` });
    },
  );

  const linksOf = (workerId: number): ThreadLink[] =>
    [...hub.links].filter((link) => link.worker === workerId);

  async function stop(graceMs: number, reason: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    log("info", "stopping", { reason, graceMs });
    hub.broadcast({ k: "shutdown", graceMs });
    await supervisor.stop(graceMs + 3000);
    await history.close();
    control.close();
    hub.close();
    if (process.platform !== "win32") {
      fs.rmSync(socketPath, { force: true });
      fs.rmSync(hubPath, { force: true });
    }
    log("info", "stopped");
    await logger.close();
    process.exit(0);
  }

  /** Starts stop from a signal or a request; a stop that fails is logged and still ends the daemon. */
  function requestStop(graceMs: number, reason: string): void {
    stop(graceMs, reason).catch((error: unknown) => {
      log("error", "stop failed; exiting", { error: String((error as Error)?.stack ?? error) });
      process.exit(1);
    });
  }

  function setPaused(next: boolean): boolean {
    if (paused === next) return false;
    paused = next;
    log("info", next ? "paused: listeners closed" : "resumed: listeners open");
    hub.broadcast({ k: "listen", on: !next, ports: listenPorts() });
    return true;
  }

  const daemon: DaemonControl = {
    status: () => {
      const links = [...hub.links];
      const sessions = { chat: 0, echo: 0 };
      for (const link of links) {
        sessions.chat += link.sessions.chat;
        sessions.echo += link.sessions.echo;
      }
      return {
        version: readVersion(),
        pid: process.pid,
        startedAt: startedAt.toISOString(),
        uptimeSeconds: Math.floor((Date.now() - startedAt.getTime()) / 1000),
        paused,
        listeners: services.map((s) => ({
          service: s.name,
          host: opts.host,
          port: s.port,
          listening: !paused && links.some((link) => link.listening[s.name] === true),
        })),
        workers: supervisor.workers.map((worker) => {
          const own = linksOf(worker.id);
          return {
            id: worker.id,
            pid: worker.process.pid ?? 0,
            threads: own.length,
            sessions: own.reduce((sum, link) => sum + link.sessions.chat + link.sessions.echo, 0),
            threadSessions: own
              .sort((a, b) => a.thread - b.thread)
              .map((link) => link.sessions.chat + link.sessions.echo),
          };
        }),
        sessions,
        usersOnline: chat.onlineCount,
      };
    },
    stop: (graceMs) => {
      setImmediate(() => requestStop(graceMs, "control request"));
    },
    pause: () => setPaused(true),
    resume: () => setPaused(false),
    logsTail: (lines) => readLastLines(logger.file.filename, lines),
    logsFollow: (conn) => {
      const unfollow = logger.follow((line) => {
        if (conn.backlog > MAX_FOLLOW_BACKLOG) {
          // A follower that stops reading is cut off rather than buffered without bound.
          unfollow();
          conn.close();
          return;
        }
        conn.notify("logs.line", { line });
      });
      conn.onClose(unfollow);
    },
    logsClear: () => {
      const bytes = logger.file.clear();
      log("info", "log file cleared", { bytes });
      return bytes;
    },
    logsReopen: () => {
      logger.file.reopen();
      log("info", "log file reopened");
    },
    identitiesList: () => identities.list(),
    identitiesWipe: async () => {
      const removed = await identities.wipe();
      log("info", "identities wiped", { removed });
      return removed;
    },
    usersList: () => chat.users(),
    kick: (name, reason) => chat.kick(name, reason),
    crashThread: (worker, thread, mode) => {
      const link = [...hub.links].find((l) => l.worker === worker && l.thread === thread);
      if (!link) return false;
      log("warn", "crashing a session thread on request (--debug-faults)", { worker, thread, mode });
      link.send({ k: "crash", mode });
      return true;
    },
    announce: (text) => {
      log("info", "announcement", { text });
      return chat.announce(text);
    },
  };

  const control = createControlServer(
    buildControlMethods(daemon, DEFAULT_GRACE_MS, { debugFaults: opts.debugFaults }),
    (msg, meta) => log("error", msg, meta),
  );
  await new Promise<void>((resolve, reject) => {
    control.once("error", reject);
    control.listen(socketPath, () => resolve());
  });
  secureSocketFile(socketPath, gid);

  process.on("SIGTERM", () => requestStop(DEFAULT_GRACE_MS, "SIGTERM"));
  process.on("SIGINT", () => requestStop(DEFAULT_GRACE_MS, "SIGINT"));
  process.on("SIGHUP", () => {
    logger.file.reopen();
    log("info", "log file reopened (SIGHUP)");
  });

  log("info", "starting", {
    workers: opts.workers,
    threads: opts.threads,
    stateDir,
    logDir,
    socket: socketPath,
  });
  supervisor.start();
  const timeout = setTimeout(
    () => ready.reject(new StartupError(`listeners not ready after ${STARTUP_TIMEOUT_MS / 1000} s`)),
    STARTUP_TIMEOUT_MS,
  );
  try {
    await ready.promise;
  } catch (error) {
    log("error", (error as Error).message);
    await supervisor.stop(2000);
    control.close();
    fs.rmSync(socketPath, { force: true });
    fs.rmSync(hubPath, { force: true });
    await logger.close();
    throw error;
  } finally {
    clearTimeout(timeout);
  }

  const fields = services.map((s) => `${s.name}=${formatHost(opts.host)}:${s.port}`);
  fields.push(
    `control=${socketPath}`,
    `pid=${process.pid}`,
    `workers=${opts.workers}`,
    `threads=${opts.threads}`,
  );
  log("info", "ready", { listeners: fields.join(" ") });
  process.stdout.write(`tsd-daemon ready: ${fields.join(" ")}\n`);
  notifyReady((error) =>
    log("warn", "could not tell systemd that the daemon is ready", { error: error.message }),
  );
  if (opts.console)
    startConsole(socketPath, log).catch((error: unknown) =>
      log("error", `the console failed; the daemon goes on: ${String(error)}`),
    );
}

/** What the console needs of the tsctl shell, which is loaded only when --console asks for it. */
interface ConsoleShell {
  runShell(opts: {
    input: NodeJS.ReadableStream;
    output: NodeJS.WritableStream;
    errors: NodeJS.WritableStream;
    terminal: boolean;
    session: { defaults: string[] };
  }): Promise<number>;
}

/** The operator's console: the tsctl shell on the daemon's own terminal, talking to its own socket. */
async function startConsole(socketPath: string, log: (level: LogLevel, msg: string) => void): Promise<void> {
  if (!process.stdin.isTTY) {
    log("warn", "--console needs a terminal on stdin; no console");
    return;
  }
  const { runShell } = (await import(entryFile("../../ctl/shell", import.meta.url).href)) as ConsoleShell;
  await runShell({
    input: process.stdin,
    output: process.stdout,
    errors: process.stderr,
    terminal: true,
    session: { defaults: ["--socket", socketPath] },
  }).then(
    () => {
      process.stdin.pause();
      log("info", "console closed; the daemon goes on (tsctl stop ends it)");
    },
    (error: unknown) => log("error", `the console failed; the daemon goes on: ${String(error)}`),
  );
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
