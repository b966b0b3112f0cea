import type { LiveLimits } from "../../protocol/hub-messages.ts";
import type { TlsMaterial } from "../../protocol/hub-messages.ts";
import type { HubEvents } from "./hub/hub-server.ts";
import type { Listeners } from "./listeners.ts";
import type { Log } from "./log/logger.ts";

/** What the thread events need of the daemon. */
export interface ThreadEventsContext {
  log: Log;
  listeners: Listeners;
  /** The live worker processes, to ask one to restart a thread, or to kill one that does not. */
  workers(): readonly {
    id: number;
    send(message: { k: "restart-thread"; thread: number }): unknown;
    process: { kill(signal: NodeJS.Signals): unknown };
  }[];
  /** How long a restarted thread has to say hello again before its whole process is killed. */
  threadTimeoutMs: number;
  /** Whether the listeners are to be open: not paused, not stopping. */
  isOpen(): boolean;
  isStopping(): boolean;
  /** The TLS certificate in force, sent to each thread before its welcome; null or absent: TLS is off. */
  tls?(): TlsMaterial | null;
  /** The live settings in force, sent to each thread before its welcome (config.set, reload). */
  settings(): LiveLimits;
}

/**
 * The primary's answers to its session threads: a hello gets the ports (listeners.ts), a
 * listener report counts towards ready, a thread's records join the log, a thread gone is
 * logged unless the daemon is stopping, and one that stopped answering its hub (the watchdog)
 * is restarted by its worker process; if no fresh thread says hello within the thread timeout,
 * the process itself is stuck (stopped, or its main thread frozen), so it is killed and the
 * supervisor forks a new one.
 */
export function threadEvents(ctx: ThreadEventsContext): HubEvents {
  const { log, listeners } = ctx;
  const restarting = new Map<string, NodeJS.Timeout>();
  const slot = (link: { worker: number; thread: number }) => `${link.worker}.${link.thread}`;
  return {
    onHello: (link) => {
      clearTimeout(restarting.get(slot(link)));
      restarting.delete(slot(link));
      log("info", "session thread connected", { worker: link.worker, thread: link.thread });
      const material = ctx.tls?.();
      if (material) link.send({ k: "tls", material });
      link.send({ k: "settings", limits: ctx.settings() });

      return { paused: !ctx.isOpen(), ports: listeners.hello(link) };
    },
    onListening: (link, service, ok, port, error) => {
      if (error)
        log("error", "listen failed", { worker: link.worker, thread: link.thread, service, port, error });
      listeners.listening(link, service, ok, port, error);
    },
    onLog: (link, record) => {
      const source = link ? `w${link.worker}.t${link.thread}` : "thread";
      log(record.level, record.msg, { ...record.meta, source });
    },
    onGone: (link) => {
      if (!ctx.isStopping()) log("warn", "session thread gone", { worker: link.worker, thread: link.thread });
      listeners.gone(link);
    },
    onUnresponsive: (link, silentMs) => {
      log("error", "session thread not answering its hub; restarting it", {
        worker: link.worker,
        thread: link.thread,
        silentMs,
      });
      const worker = ctx.workers().find((w) => w.id === link.worker);
      if (!worker || restarting.has(slot(link))) return;
      worker.send({ k: "restart-thread", thread: link.thread });
      const timer = setTimeout(() => {
        restarting.delete(slot(link));
        if (ctx.isStopping()) return;
        log("error", "worker process not restarting its thread; killing it", {
          worker: link.worker,
          thread: link.thread,
        });
        worker.process.kill("SIGKILL");
      }, ctx.threadTimeoutMs);
      timer.unref();
      restarting.set(slot(link), timer);
    },
  };
}
