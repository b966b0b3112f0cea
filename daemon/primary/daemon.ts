import cluster from "node:cluster";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type ListenPorts, type LogLevel, WORKER_CONFIG_ENV } from "../../protocol/hub-messages.ts";
import {
  isOwnSocketDir,
  type PathEnv,
  resolveLogDir,
  resolveSocketPath,
  resolveStateDir,
} from "../../protocol/paths.ts";
import { entryFile } from "../shared/entry-file.ts";
import { IdentityFileCorrupt, IdentityStore, removeIdentityLeftovers } from "../shared/identity-store.ts";
import { DEFAULT_GRACE_MS, PING_INTERVAL_MS, STARTUP_TIMEOUT_MS, STOP_MARGIN_MS } from "../shared/limits.ts";
import { startConsole } from "./console.ts";
import { buildControlMethods, type DaemonControl } from "./control/control-methods.ts";
import { createControlServer } from "./control/control-server.ts";
import { prepareSocketPath, secureSocketFile } from "./control/control-socket.ts";
import { debugControl } from "./control/debug.ts";
import { identitiesControl } from "./control/identities.ts";
import { logsControl } from "./control/logs.ts";
import { describeStatus } from "./control/status.ts";
import { usersControl } from "./control/users.ts";
import { EmbeddedChatHub } from "./hub/chat-hub.ts";
import { HistoryStore } from "./hub/history-store.ts";
import { HubServer } from "./hub/hub-server.ts";
import { Listeners } from "./listeners.ts";
import { createLogger, type DaemonLogger } from "./log/logger.ts";
import type { DaemonOptions } from "./options.ts";
import { notifyReady } from "./sd-notify.ts";
import { StartupError } from "./startup-error.ts";
import { lockStateDir } from "./state-lock.ts";
import { WorkerSupervisor } from "./supervisor.ts";
import { Teardown } from "./teardown.ts";
import { readVersion } from "./version.ts";
import { workerConfig } from "./worker-config.ts";

const onWindows = process.platform === "win32";

/** Where the daemon keeps its files and sockets (control.md's lookup order). */
function daemonPaths(opts: DaemonOptions) {
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
    hubPath: onWindows ? `\\\\.\\pipe\\tsd-hub-${process.pid}` : `${socketPath}.hub`,
  };
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

function asStartupError(error: Error): never {
  throw new StartupError(error.message, { cause: error });
}

function describe(error: unknown): string {
  return String((error as Error)?.stack ?? error);
}

/**
 * The primary: supervisor, hub, control socket and the one logger. Every start step that
 * leaves something behind adds its undo to one Teardown; stop runs it, and so does a start
 * that fails half-way, so the two can never disagree about what there is to undo.
 */
export class Daemon {
  private readonly opts: DaemonOptions;
  private readonly teardown = new Teardown();
  private readonly version = readVersion();
  private logger: DaemonLogger | null = null;
  private paused = false;
  private stopping: Promise<void> | null = null;

  private constructor(opts: DaemonOptions) {
    this.opts = opts;
  }

  /**
   * Starts the daemon and resolves once it is ready (the ready line printed). On failure
   * whatever was started is undone before it rejects (a StartupError: one sentence for the operator).
   */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const daemon = new Daemon(opts);
    try {
      await daemon.run();
    } catch (error) {
      // Before the logger exists the caller reports the error (tsd-daemon: ... on stderr), not this.
      if (daemon.logger) daemon.log("error", (error as Error).message);
      await daemon.undoAll(0).catch(() => {});
      throw error;
    }
    return daemon;
  }

  /** Stops gracefully: clients get graceMs, then every start step is undone, newest first. Once. */
  stop(graceMs: number, reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.log("info", "stopping", { reason, graceMs });
      await this.undoAll(graceMs);
    })();
    return this.stopping;
  }

  /** Stops from a signal or a request and exits; a stop that fails is logged and still ends the daemon. */
  requestStop(graceMs: number, reason: string): void {
    this.stop(graceMs, reason).then(
      () => process.exit(0),
      (error: unknown) => {
        this.log("error", "stop failed; exiting", { error: describe(error) });
        process.exit(1);
      },
    );
  }

  /** Whether the listeners are to be open: not paused, not stopping. */
  private isOpen(): boolean {
    return !this.paused && this.stopping === null;
  }

  /** Logs through the daemon's logger; before it exists and after it is closed, to stderr. */
  private log(level: LogLevel, msg: string, meta?: Record<string, unknown>): void {
    if (this.logger) this.logger.log(level, msg, meta);
    else process.stderr.write(`tsd-daemon: ${msg}${meta ? ` ${JSON.stringify(meta)}` : ""}\n`);
  }

  private undoAll(graceMs: number): Promise<void> {
    return this.teardown.run(graceMs, (step, error) =>
      this.log("error", `could not undo: ${step}`, { error: describe(error) }),
    );
  }

  private async run(): Promise<void> {
    const opts = this.opts;
    const log = (level: LogLevel, msg: string, meta?: Record<string, unknown>) => this.log(level, msg, meta);
    const { socketPath, ownSocketDir, stateDir, logDir, hubPath } = daemonPaths(opts);
    const identitiesFile = path.join(stateDir, "identities.json");

    const { gid } = await prepareSocketPath(socketPath, {
      ownDir: ownSocketDir,
      group: opts.socketGroup,
    }).catch(asStartupError);
    ensureWritableDir(stateDir, "state");
    // Held for the daemon's life, before anything in the state directory is read or written.
    const lock = await lockStateDir(stateDir).catch(asStartupError);
    this.teardown.add("the state directory's lock", () => lock.release());
    const leftovers = await removeIdentityLeftovers(identitiesFile);
    // An unwritable log directory is not fatal: the daemon serves and logs to stdout (the log file says so once).
    try {
      fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
    } catch {}

    const identities = new IdentityStore(identitiesFile);
    await identities.check().catch((error: Error) => {
      throw error instanceof IdentityFileCorrupt ? new StartupError(error.message, { cause: error }) : error;
    });
    this.teardown.add("the identity store", () => identities.close());

    const logger = createLogger({
      level: opts.logLevel,
      format: opts.logFormat,
      logDir,
      maxBytes: opts.logMaxBytes,
      keep: opts.logKeep,
    });
    this.logger = logger;
    this.teardown.add("the logger", async () => {
      log("info", "stopped");
      this.logger = null;
      await logger.close();
    });
    if (leftovers.length > 0)
      log("warn", "removed what an interrupted identity write left behind", { leftovers });
    const startedAt = new Date();

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
    this.teardown.add("the history file", () => history.close());
    if (history.skippedOnLoad > 0)
      log("warn", "history records skipped on load (cut short or corrupt)", {
        skipped: history.skippedOnLoad,
      });

    const chat = new EmbeddedChatHub({
      maxPerAddress: opts.maxPerAddress,
      registrationsPerHour: opts.registrationsPerHour,
      history,
      log,
      debug: opts.logLevel === "debug",
    });
    const asked: ListenPorts = {};
    if (opts.chatPort !== null) asked.chat = opts.chatPort;
    if (opts.echoPort !== null) asked.echo = opts.echoPort;
    const listeners = new Listeners(opts.host, asked, opts.workers * opts.threads, () => this.isOpen());

    if (!onWindows) fs.rmSync(hubPath, { force: true });
    const hub = new HubServer(
      chat,
      {
        onHello: (link) => {
          log("info", "session thread connected", { worker: link.worker, thread: link.thread });
          return { paused: !this.isOpen(), ports: listeners.hello(link) };
        },
        onListening: (link, service, ok, port, error) => {
          if (error)
            log("error", "listen failed", { worker: link.worker, thread: link.thread, service, port, error });
          listeners.listening(link, service, ok, port, error);
        },
        onLog: (link, record) => {
          const source = link ? `w${link.worker}.t${link.thread}` : "thread";
          logger.log(record.level, record.msg, { ...record.meta, source });
        },
        onGone: (link) => {
          if (this.stopping === null)
            log("warn", "session thread gone", { worker: link.worker, thread: link.thread });
          listeners.gone(link);
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
    this.teardown.add("the hub", () => hub.close());
    await hub.listen(hubPath);
    this.teardown.add("the hub's socket file", () => {
      if (!onWindows) fs.rmSync(hubPath, { force: true });
    });
    secureSocketFile(hubPath, null);

    cluster.setupPrimary({ exec: fileURLToPath(entryFile("../worker/worker-process", import.meta.url)) });
    const config = workerConfig(opts, { stateDir, hubPath, ports: listeners.ports() });
    const supervisor = new WorkerSupervisor(
      opts.workers,
      { [WORKER_CONFIG_ENV]: JSON.stringify(config) },
      log,
      (worker, record) => {
        if (record?.k === "log")
          logger.log(record.level, record.msg, { ...record.meta, source: `w${worker.id}` });
      },
    );

    const setPaused = (next: boolean): boolean => {
      if (this.paused === next) return false;
      this.paused = next;
      log("info", next ? "paused: listeners closed" : "resumed: listeners open");
      hub.broadcast({ k: "listen", on: !next, ports: listeners.ports() });
      return true;
    };
    const daemon: DaemonControl = {
      status: () =>
        describeStatus({
          version: this.version,
          pid: process.pid,
          startedAt,
          now: Date.now(),
          paused: this.paused,
          host: opts.host,
          ports: listeners.ports(),
          workers: supervisor.workers.map((worker) => ({ id: worker.id, pid: worker.process.pid ?? 0 })),
          threads: [...hub.links],
          usersOnline: chat.onlineCount,
        }),
      stop: (graceMs) => {
        setImmediate(() => this.requestStop(graceMs, "control request"));
      },
      pause: () => setPaused(true),
      resume: () => setPaused(false),
      ...logsControl(logger),
      ...usersControl(chat, log),
      ...identitiesControl(identities, log),
      ...debugControl(hub.links, log),
    };
    const control = createControlServer(
      buildControlMethods(daemon, DEFAULT_GRACE_MS, { debugFaults: opts.debugFaults }),
      (msg, meta) => log("error", msg, meta),
    );
    await new Promise<void>((resolve, reject) => {
      control.once("error", reject);
      control.listen(socketPath, () => resolve());
    });
    this.teardown.add("the control socket", () => {
      control.close();
      if (!onWindows) fs.rmSync(socketPath, { force: true });
    });
    secureSocketFile(socketPath, gid);

    const onStopSignal = (signal: NodeJS.Signals) => this.requestStop(DEFAULT_GRACE_MS, signal);
    const onHangUp = () => {
      logger.file.reopen();
      log("info", "log file reopened (SIGHUP)");
    };
    process.on("SIGTERM", onStopSignal);
    process.on("SIGINT", onStopSignal);
    process.on("SIGHUP", onHangUp);
    this.teardown.add("the signal handlers", () => {
      process.off("SIGTERM", onStopSignal);
      process.off("SIGINT", onStopSignal);
      process.off("SIGHUP", onHangUp);
    });

    log("info", "starting", {
      workers: opts.workers,
      threads: opts.threads,
      stateDir,
      logDir,
      socket: socketPath,
    });
    this.teardown.add("the workers", async (graceMs) => {
      hub.broadcast({ k: "shutdown", graceMs });
      await supervisor.stop(graceMs + STOP_MARGIN_MS);
    });
    supervisor.start();
    await listeners.whenReady(STARTUP_TIMEOUT_MS);

    const fields = [
      ...listeners.addresses(),
      `control=${socketPath}`,
      `pid=${process.pid}`,
      `workers=${opts.workers}`,
      `threads=${opts.threads}`,
    ];
    log("info", "ready", { listeners: fields.join(" ") });
    process.stdout.write(`tsd-daemon ready: ${fields.join(" ")}\n`);
    notifyReady((error) =>
      log("warn", "could not tell systemd that the daemon is ready", { error: error.message }),
    );
    if (opts.console) void startConsole(socketPath, log);
  }
}
