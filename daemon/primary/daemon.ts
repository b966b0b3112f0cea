import cluster from "node:cluster";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type ListenPorts, WORKER_CONFIG_ENV } from "../../protocol/hub-messages.ts";
import { exposition } from "../../protocol/metrics-exposition.ts";
import type { MetricsResult } from "../../protocol/rpc.ts";
import { entryFile } from "../shared/entry-file.ts";
import { IdentityFileCorrupt, IdentityStore, removeIdentityLeftovers } from "../shared/identity-store.ts";
import {
  DEFAULT_GRACE_MS,
  MAX_LINE_CEILING,
  PING_INTERVAL_MS,
  STARTUP_TIMEOUT_MS,
  STOP_MARGIN_MS,
} from "../shared/limits.ts";
import { collectAfterStorms } from "../shared/storm-gc.ts";
import { startConsole } from "./console.ts";
import { buildControlMethods, type DaemonControl } from "./control/control-methods.ts";
import { createControlServer } from "./control/control-server.ts";
import { prepareSocketPath, secureSocketFile } from "./control/control-socket.ts";
import { debugControl } from "./control/debug.ts";
import { identitiesControl } from "./control/identities.ts";
import { logsControl } from "./control/logs.ts";
import { moderationControl } from "./control/moderation.ts";
import { DaemonStopping, describeStatus } from "./control/status.ts";
import { usersControl } from "./control/users.ts";
import { type DaemonPaths, daemonPaths, ensureWritableDir } from "./daemon-paths.ts";
import type { ClusterSettings } from "./cluster/open-cluster.ts";
import type { RedisChatHub } from "./cluster/redis-chat-hub.ts";
import { type ChatHub, EmbeddedChatHub } from "./hub/chat-hub.ts";
import { HistoryLinesDropped, HistoryStore } from "./hub/history-store.ts";
import { type HubEvents, HubServer } from "./hub/hub-server.ts";
import { type BansAndMutes, Moderation } from "./hub/moderation.ts";
import {
  ModerationFileCorrupt,
  readModerationFile,
  removeModerationLeftovers,
} from "./hub/moderation-file.ts";
import { claimPorts, Listeners, ListenersStillOpen, PortUnavailable } from "./listeners.ts";
import { MetricsCollector } from "./metrics.ts";
import { type MetricsHttp, serveMetricsHttp } from "./metrics-http.ts";
import { LiveSettings, type SettingChange } from "./live-settings.ts";
import { type ReloadStep, runReload } from "./reload.ts";
import { readConfigFile } from "./config-file.ts";
import { type Motd, readMotd } from "./motd.ts";
import { createLogger, type DaemonLogger, type Log } from "./log/logger.ts";
import type { DaemonOptions } from "./options.ts";
import { notifyReady, StatusReporter, statusText } from "./sd-notify.ts";
import { StartupError } from "./startup-error.ts";
import { lockStateDir } from "./state-lock.ts";
import { WorkerSupervisor } from "./supervisor.ts";
import { Teardown } from "./teardown.ts";
import { threadEvents } from "./thread-events.ts";
import { TlsCertificate } from "./tls-material.ts";
import { readVersion } from "./version.ts";
import { workerConfig } from "./worker-config.ts";

const onWindows = process.platform === "win32";

function asStartupError(error: Error): never {
  throw new StartupError(error.message, { cause: error });
}

function describe(error: unknown): string {
  return String((error as Error)?.stack ?? error);
}

/** What the control methods reach into. */
interface Parts {
  startedAt: Date;
  logger: DaemonLogger;
  identities: IdentityStore;
  chat: ChatHub;
  /** The cluster's hub (--hub redis); null on a daemon of its own. */
  cluster: RedisChatHub | null;
  listeners: Listeners;
  hub: HubServer;
  supervisor: WorkerSupervisor;
  moderation: BansAndMutes;
}

/**
 * The primary: supervisor, hub, control socket and the one logger. Every start step that
 * leaves something behind adds its undo to one Teardown; stop runs it, and so does a start
 * that fails half-way, so the two can never disagree about what there is to undo.
 */
export class Daemon {
  private readonly opts: DaemonOptions;
  private readonly paths: DaemonPaths;
  private readonly teardown = new Teardown();
  private readonly version = readVersion();
  private logger: DaemonLogger | null = null;
  private hub: HubServer | null = null;
  /** The options in force; config.set and reload change the live ones. */
  private readonly settings: LiveSettings;
  private paused = false;
  /** Counters and gauges, gathered from the session threads (metrics, GET /metrics). */
  private readonly metrics = new MetricsCollector();
  private metricsHttp: MetricsHttp | null = null;
  /** The reload runner's "tls" step (reloadTls), once TLS is on and the hub is up; null: TLS is off. */
  tlsReloadStep: (() => Promise<void>) | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(opts: DaemonOptions) {
    this.opts = opts;
    this.paths = daemonPaths(opts);
    this.settings = new LiveSettings(opts.inForce, (changes) => this.settingsChanged(changes));
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

  /** Logs through the daemon's logger; before it exists and after it is closed, to stderr. */
  private readonly log: Log = (level, msg, meta) => {
    if (this.logger) this.logger.log(level, msg, meta);
    else process.stderr.write(`tsd-daemon: ${msg}${meta ? ` ${JSON.stringify(meta)}` : ""}\n`);
  };

  /** Whether the listeners are to be open: not paused, not stopping. */
  private isOpen(): boolean {
    return !this.paused && this.stopping === null;
  }

  private undoAll(graceMs: number): Promise<void> {
    return this.teardown.run(graceMs, (step, error) =>
      this.log("error", `could not undo: ${step}`, { error: describe(error) }),
    );
  }

  /** The start, step by step; each step that leaves something behind registers its undo. */
  private async run(): Promise<void> {
    const motd = await this.readMotd();
    const tls = await this.loadTls();
    const { gid, leftovers } = await this.claimStateDir();
    const identities = await this.openIdentities();
    const logger = this.openLogger();
    if (leftovers.length > 0)
      this.log("warn", "removed what an interrupted identity write left behind", { leftovers });
    const startedAt = new Date();
    const history = await this.openHistory();
    const settings = this.settings;
    const cluster = this.opts.cluster ? await this.openCluster(this.opts.cluster) : null;
    // In a cluster the bans and mutes are the cluster's, in Redis; moderation.json is a lone daemon's.
    const moderation: BansAndMutes = cluster ? cluster.moderation : await this.openModeration();
    if (cluster) await this.warnUnusedModeration();
    const chat: ChatHub =
      cluster ??
      new EmbeddedChatHub({
        get maxPerAddress() {
          return settings.number("max-per-address");
        },
        registrationsPerHour: this.opts.registrationsPerHour,
        history,
        moderation,
        log: this.log,
        get debug() {
          return settings.logLevel === "debug";
        },
      });
    if (motd) this.useMotd(chat, motd);
    // A storm of sign-ins leaves the hub's garbage (online lists, their JSON): collected once it is over.
    collectAfterStorms(() => chat.onlineCount);
    const asked: ListenPorts = {};
    if (this.opts.chatPort !== null && this.opts.plaintextChat) asked.chat = this.opts.chatPort;
    if (tls && this.opts.tls) asked["chat-tls"] = this.opts.tls.port;
    if (this.opts.echoPort !== null) asked.echo = this.opts.echoPort;
    const threads = this.opts.workers * this.opts.threads;
    // Each port bound alone first: a port in use stops the start here, naming it.
    const claim = await claimPorts(this.opts.host, asked);
    // Echo is served by one thread of each worker process (ECHO_THREAD).
    const listeners = new Listeners(
      this.opts.host,
      claim.ports,
      threads,
      () => this.isOpen(),
      this.opts.workers,
    );
    listeners.hold(claim);
    this.teardown.add("the ports held for the threads", () => listeners.releaseHeld());
    const supervisor = this.createSupervisor(listeners, logger);
    const events = threadEvents({
      log: this.log,
      listeners,
      workers: () => supervisor.workers,
      threadTimeoutMs: this.opts.threadTimeout * 1000,
      isOpen: () => this.isOpen(),
      isStopping: () => this.stopping !== null,
      tls: () => tls?.material ?? null,
      settings: () => this.settings.threadLimits(),
    });
    events.onMetrics = (link, report) => this.metrics.report(link, report);
    const hub = await this.openHub(chat, events);
    moderation.onAddressBans = (rules) => hub.broadcast({ k: "bans", rules });
    if (tls) this.reloadTlsOnHangUp(tls, hub);
    await this.openControl(gid, {
      startedAt,
      logger,
      identities,
      chat,
      cluster,
      listeners,
      hub,
      supervisor,
      moderation,
    });
    await this.serveMetrics(hub, chat);
    this.handleSignals(logger, chat);
    this.startWorkers(hub, supervisor);
    // A stop before every thread listens lets go of the ports first, not after the workers' grace.
    this.teardown.add("the ports still held at stop", () => listeners.releaseHeld());
    await listeners.whenReady(STARTUP_TIMEOUT_MS);
    this.announceReady(listeners);
    this.reportStatus(listeners, chat);
  }

  /**
   * --hub redis: joins the cluster (cluster/, loaded only here, so no cluster code runs without it).
   * Redis not reachable within --redis-connect-timeout stops the start with one sentence naming it.
   */
  private async openCluster(settings: ClusterSettings): Promise<RedisChatHub> {
    const { openCluster } = await import("./cluster/open-cluster.ts");
    const live = this.settings;
    const cluster = await openCluster({
      cluster: settings,
      maxPerAddress: () => live.number("max-per-address"),
      registrationsPerHour: this.opts.registrationsPerHour,
      historyKeep: this.opts.historyKeep,
      log: this.log,
    }).catch(asStartupError);
    this.teardown.add("the cluster", () => cluster.close());
    return cluster;
  }

  /** The --motd file; one that cannot be read at start stops it, naming the file. */
  private async readMotd(): Promise<Motd | null> {
    if (this.opts.motd === undefined) return null;
    return readMotd(this.opts.motd).catch(asStartupError);
  }

  private useMotd(chat: ChatHub, motd: Motd): void {
    chat.setMotd(motd.lines);
    if (motd.cut)
      this.log("warn", "the message of the day is cut to what is shown (4 KiB, 20 lines)", {
        file: this.opts.motd,
        lines: motd.lines.length,
      });
  }

  /** The reload's "motd" step: the --motd file read again; one that cannot be read leaves the message as it is. */
  private async rereadMotd(chat: ChatHub, file: string): Promise<void> {
    const motd = await readMotd(file).catch((error: Error) => {
      throw new Error(`${error.message}; the message of the day is unchanged`, { cause: error });
    });
    this.useMotd(chat, motd);
    this.log("info", "message of the day reread", { file, lines: motd.lines.length });
  }

  /** The reload's "config" step: the --config file's live options (reload.ts); a broken file changes nothing. */
  private rereadConfig(file: string): void {
    const waiting = this.settings.reloadFrom(file, readConfigFile(file), this.opts.pinned);
    if (waiting.length > 0)
      this.log("warn", "the config file changes options that need a restart; they wait for it", {
        file,
        options: waiting.join(","),
      });
  }

  /**
   * reload and SIGHUP: the steps of reload.ts for what this daemon has (a config file, a
   * message of the day, TLS), run in their order; what was done, or ReloadFailed, is logged.
   */
  private async reload(logger: DaemonLogger, chat: ChatHub, by: string): Promise<string[]> {
    const { configFile, motd } = this.opts;
    const steps: ReloadStep[] = [
      {
        name: "log",
        run: () => {
          logger.file.reopen();
          this.log("info", "log file reopened");
        },
      },
    ];
    if (configFile !== undefined) steps.push({ name: "config", run: () => this.rereadConfig(configFile) });
    if (motd !== undefined) steps.push({ name: "motd", run: () => this.rereadMotd(chat, motd) });
    const tls = this.tlsReloadStep;
    if (tls) steps.push({ name: "tls", run: tls });
    try {
      const done = await runReload(steps);
      this.log("info", "reloaded", { steps: done.join(","), by });
      return done;
    } catch (error) {
      this.log("error", (error as Error).message, { by });
      throw error;
    }
  }

  /** --tls-cert and --tls-key, checked before anything starts: a bad file stops the start, naming it. */
  private async loadTls(): Promise<TlsCertificate | null> {
    if (!this.opts.tls) return null;
    return TlsCertificate.load(this.opts.tls.certFile, this.opts.tls.keyFile).catch(asStartupError);
  }

  /**
   * The reload's "tls" step: the files are read and checked again and, if they pass, every
   * session thread serves the new certificate from its next handshake on; sessions already open
   * go on. A bad file rejects (a TlsMaterialError naming it) and the certificate in force stays.
   */
  private async reloadTls(tls: TlsCertificate, hub: HubServer): Promise<void> {
    const renewal = await tls.reload();
    hub.broadcast({ k: "tls", material: tls.material });
    this.log("info", "TLS certificate reloaded", { file: tls.certFile, ...renewal });
  }

  /** The reload's "tls" step, which reload and SIGHUP run (reload.ts); a failure changes nothing. */
  private reloadTlsOnHangUp(tls: TlsCertificate, hub: HubServer): void {
    this.tlsReloadStep = async () => {
      await this.reloadTls(tls, hub).catch((error: Error) => {
        throw new Error(`${error.message}; the TLS certificate in force is unchanged`, { cause: error });
      });
    };
  }

  /** Checks the control socket's path and takes the state directory, which is held for the daemon's life. */
  private async claimStateDir(): Promise<{ gid: number | null; leftovers: string[] }> {
    const { socketPath, ownSocketDir, stateDir, logDir, identitiesFile } = this.paths;
    const { gid } = await prepareSocketPath(socketPath, {
      ownDir: ownSocketDir,
      group: this.opts.socketGroup,
    }).catch(asStartupError);
    ensureWritableDir(stateDir, "state");
    // Before anything in the state directory is read or written.
    const lock = await lockStateDir(stateDir).catch(asStartupError);
    this.teardown.add("the state directory's lock", () => lock.release());
    const leftovers = await removeIdentityLeftovers(identitiesFile);
    // An unwritable log directory is not fatal: the daemon serves and logs to stdout (the log file says so once).
    try {
      fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
    } catch {}
    return { gid, leftovers };
  }

  /** The accounts, for identities.list and wipe; a file that cannot be used stops the start. */
  private async openIdentities(): Promise<IdentityStore> {
    const identities = new IdentityStore(this.paths.identitiesFile);
    await identities.check().catch((error: Error) => {
      throw error instanceof IdentityFileCorrupt ? new StartupError(error.message, { cause: error }) : error;
    });
    this.teardown.add("the identity store", () => identities.close());
    return identities;
  }

  private openLogger(): DaemonLogger {
    const opts = this.opts;
    const logger = createLogger({
      level: opts.logLevel,
      format: opts.logFormat,
      logDir: this.paths.logDir,
      maxBytes: opts.logMaxBytes,
      keep: opts.logKeep,
    });
    this.logger = logger;
    this.teardown.add("the logger", async () => {
      logger.log("info", "stopped");
      this.logger = null;
      await logger.close();
    });
    return logger;
  }

  private async openHistory(): Promise<HistoryStore> {
    const log = this.log;
    const history = await HistoryStore.open({
      file: this.paths.historyFile,
      memoryLimit: this.opts.historyKeep,
      diskLimitBytes: this.opts.historyMaxBytes,
      onError: (error: Error) =>
        error instanceof HistoryLinesDropped
          ? log("error", "history lines lost: the history file could not be written", {
              error: error.message,
            })
          : log("error", "cannot write the history file; unwritten lines are held in memory and retried", {
              error: error.message,
            }),
      onRecovered: (report) => log("info", "the history file is written again", { ...report }),
    });
    this.teardown.add("the history file", () => history.close());
    if (history.skippedOnLoad > 0)
      log("warn", "history records skipped on load (cut short or corrupt)", {
        skipped: history.skippedOnLoad,
      });
    return history;
  }

  /**
   * Bans and mutes (moderation.json in the state directory). A file that cannot be used stops the
   * start, as identities.json does, and is never overwritten: starting without its bans would let
   * the banned back in.
   */
  private async openModeration(): Promise<Moderation> {
    const file = path.join(this.paths.stateDir, "moderation.json");
    const leftovers = await removeModerationLeftovers(file);
    if (leftovers.length > 0)
      this.log("warn", "removed what an interrupted moderation write left behind", { leftovers });
    const moderation = await Moderation.open(file).catch((error: Error) => {
      throw error instanceof ModerationFileCorrupt
        ? new StartupError(error.message, { cause: error })
        : error;
    });
    this.teardown.add("the bans and mutes", () => moderation.close());
    return moderation;
  }

  /**
   * A daemon that joins a cluster keeps moderation.json's bans and mutes out of force (the
   * cluster's are in Redis), and says so when the file holds any, so the operator can add them
   * to the cluster's with tsctl ban / tsctl mute.
   */
  private async warnUnusedModeration(): Promise<void> {
    const file = path.join(this.paths.stateDir, "moderation.json");
    const state = await readModerationFile(file, Date.now()).catch(() => null);
    if (state && state.bans.length + state.mutes.length > 0)
      this.log("warn", "moderation.json is not used in a cluster: its bans and mutes are not in force", {
        file,
        bans: state.bans.length,
        mutes: state.mutes.length,
      });
  }

  /** The worker processes, not started yet: each gets the config, with the ports as asked. */
  private createSupervisor(listeners: Listeners, logger: DaemonLogger): WorkerSupervisor {
    const { stateDir, hubPath } = this.paths;
    cluster.setupPrimary({ exec: fileURLToPath(entryFile("../worker/worker-process", import.meta.url)) });
    const config = workerConfig(this.opts, { stateDir, hubPath, ports: listeners.ports() });
    return new WorkerSupervisor(
      this.opts.workers,
      { [WORKER_CONFIG_ENV]: JSON.stringify(config) },
      this.log,
      (worker, record) => {
        if (record?.k === "log")
          logger.log(record.level, record.msg, { ...record.meta, source: `w${worker.id}` });
      },
    );
  }

  private async openHub(chat: ChatHub, events: HubEvents): Promise<HubServer> {
    const { hubPath } = this.paths;
    if (!onWindows) fs.rmSync(hubPath, { force: true });
    const opts = this.opts;
    const hub = new HubServer(chat, events, {
      // Sized for the largest --max-line: config.set may raise it while the links are up.
      maxLine: MAX_LINE_CEILING,
      pingIntervalMs: PING_INTERVAL_MS,
      threadTimeoutMs: opts.threadTimeout * 1000,
    });
    this.teardown.add("the hub", () => hub.close());
    this.hub = hub;
    await hub.listen(hubPath);
    this.teardown.add("the hub's socket file", () => {
      if (!onWindows) fs.rmSync(hubPath, { force: true });
    });
    secureSocketFile(hubPath, null);
    return hub;
  }

  private async openControl(gid: number | null, parts: Parts): Promise<void> {
    const { socketPath } = this.paths;
    const control = createControlServer(
      buildControlMethods(this.control(parts), DEFAULT_GRACE_MS, { debugFaults: this.opts.debugFaults }),
      (msg, meta) => this.log("error", msg, meta),
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
  }

  /** What the control methods can ask of this daemon (control/: one file per method group). */
  private control({
    startedAt,
    logger,
    identities,
    chat,
    cluster,
    listeners,
    hub,
    supervisor,
    moderation,
  }: Parts): DaemonControl {
    const setPaused = (next: boolean): boolean => {
      if (this.paused === next) return false;
      this.paused = next;
      // A port still held for threads that have not bound it is let go: paused, nothing listens.
      if (next) listeners.releaseHeld();
      this.log("info", next ? "paused: listeners closed" : "resumed: listeners open");
      hub.broadcast({ k: "listen", on: this.isOpen(), ports: listeners.ports() });
      return true;
    };
    // Two resumes at once check the ports once; a port taken while paused keeps the daemon paused.
    let checking: Promise<void> | null = null;
    const resume = async (): Promise<boolean> => {
      if (!this.paused) return false;
      if (this.stopping) throw new DaemonStopping();
      checking ??= listeners
        .checkFree()
        .catch((error: unknown) => {
          if (error instanceof PortUnavailable)
            this.log("warn", "not resumed: a port was taken while paused", {
              service: error.service,
              port: error.port,
              error: error.code,
            });
          else if (error instanceof ListenersStillOpen)
            this.log("warn", "not resumed: a session thread did not close its listeners", {
              listeners: error.listeners,
            });
          throw error;
        })
        .finally(() => {
          checking = null;
        });
      await checking;
      if (this.stopping) throw new DaemonStopping();
      return setPaused(false);
    };
    return {
      status: () => ({
        ...describeStatus({
          version: this.version,
          pid: process.pid,
          startedAt,
          now: Date.now(),
          paused: this.paused,
          host: this.opts.host,
          ports: listeners.ports(),
          workers: supervisor.workers.map((worker) => ({ id: worker.id, pid: worker.process.pid ?? 0 })),
          threads: [...hub.links],
          usersOnline: chat.onlineCount,
        }),
        // In a cluster: its name, Redis, and every live daemon (cluster.md).
        ...(cluster ? { cluster: cluster.clusterStatus() } : {}),
      }),
      // The answer goes out before the stop begins.
      stop: (graceMs) => setImmediate(() => this.requestStop(graceMs, "control request")),
      pause: () => setPaused(true),
      resume,
      ...logsControl(logger),
      ...usersControl(chat, this.log),
      ...identitiesControl(cluster ? cluster.accounts : identities, this.log),
      ...moderationControl(chat, moderation, cluster ? cluster.accounts : identities, this.log),
      ...debugControl(hub.links, this.log),
      metrics: () => this.collectMetrics(hub, chat),
      configGet: (key) => this.settings.get(key),
      configSet: (key, value) => this.settings.set(key, value),
      reload: () => this.reload(logger, chat, "control request"),
      waitingForRestart: () => this.settings.waitingForRestart(),
    };
  }

  /** A live option changed (config.set, reload): the logger, the hub and every session thread follow at once. */
  private settingsChanged(changes: readonly SettingChange[]): void {
    this.logger?.setLevel(this.settings.logLevel);
    this.hub?.broadcast({ k: "settings", limits: this.settings.threadLimits() });
    for (const { key, value, previous } of changes)
      this.log("info", "setting changed", { key, value, previous });
  }

  /** SIGTERM and SIGINT stop the daemon gracefully; SIGHUP reloads as the reload method does (reload.ts). */
  private handleSignals(logger: DaemonLogger, chat: ChatHub): void {
    const onStopSignal = (signal: NodeJS.Signals) => this.requestStop(DEFAULT_GRACE_MS, signal);
    // A failed step is logged by reload; the signal has nobody else to tell.
    const onHangUp = () => void this.reload(logger, chat, "SIGHUP").catch(() => {});
    process.on("SIGTERM", onStopSignal);
    process.on("SIGINT", onStopSignal);
    process.on("SIGHUP", onHangUp);
    this.teardown.add("the signal handlers", () => {
      process.off("SIGTERM", onStopSignal);
      process.off("SIGINT", onStopSignal);
      process.off("SIGHUP", onHangUp);
    });
  }

  /** GET /metrics over HTTP when --metrics-port is given; a port in use stops the start, naming it. */
  private async serveMetrics(hub: HubServer, chat: ChatHub): Promise<void> {
    if (!this.opts.metrics) return;
    const http = await serveMetricsHttp({
      ...this.opts.metrics,
      exposition: async () => exposition(await this.collectMetrics(hub, chat)),
      log: this.log,
    });
    this.metricsHttp = http;
    this.teardown.add("the metrics listener", () => http.close());
  }

  private collectMetrics(hub: HubServer, chat: ChatHub): Promise<MetricsResult> {
    return this.metrics.collect({ threads: hub.links, usersOnline: () => chat.onlineCount });
  }

  /** Forks the workers; their undo tells every thread to close its clients within the grace, then waits for them. */
  private startWorkers(hub: HubServer, supervisor: WorkerSupervisor): void {
    const { workers, threads } = this.opts;
    const { stateDir, logDir, socketPath } = this.paths;
    this.log("info", "starting", { workers, threads, stateDir, logDir, socket: socketPath });
    this.teardown.add("the workers", async (graceMs) => {
      hub.broadcast({ k: "shutdown", graceMs });
      await supervisor.stop(graceMs + STOP_MARGIN_MS);
    });
    supervisor.start();
  }

  /** systemd's status text: the listeners and the users online, kept up to date while the daemon runs. */
  private reportStatus(listeners: Listeners, chat: ChatHub): void {
    const reporter = new StatusReporter(
      () =>
        statusText({ addresses: listeners.addresses(), paused: this.paused, usersOnline: chat.onlineCount }),
      (error) => this.log("warn", "could not tell systemd the daemon's status", { error: error.message }),
    );
    reporter.start();
    this.teardown.add("the status reports", () => reporter.stop());
  }

  /** The ready line on stdout and in the log, systemd told, and the console if asked for. */
  private announceReady(listeners: Listeners): void {
    const { socketPath } = this.paths;
    const fields = [
      ...listeners.addresses(),
      ...(this.metricsHttp ? [`metrics=${this.metricsHttp.address}`] : []),
      `control=${socketPath}`,
      `pid=${process.pid}`,
      `workers=${this.opts.workers}`,
      `threads=${this.opts.threads}`,
    ];
    // Each field a field of the record (chat=... control=... pid=...), not one quoted value.
    this.log("info", "ready", Object.fromEntries(fields.map((field) => field.split(/=(.*)/s, 2))));
    process.stdout.write(`tsd-daemon ready: ${fields.join(" ")}\n`);
    notifyReady((error) =>
      this.log("warn", "could not tell systemd that the daemon is ready", { error: error.message }),
    );
    if (this.opts.console)
      void startConsole(socketPath, this.log, (print) => this.logger?.divertStdout(print));
  }
}
