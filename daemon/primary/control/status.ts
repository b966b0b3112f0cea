import type { ListenPorts, ServiceName } from "../../../protocol/hub-messages.ts";
import { JSONRPCErrorException } from "json-rpc-2.0";
import { RpcErrorCode, type StatusResult } from "../../../protocol/rpc.ts";
import { MAX_GRACE_MS } from "../../shared/limits.ts";
import { formatHost, ListenersStillOpen, PortUnavailable, portFlag } from "../listeners.ts";
import type { Serve } from "./control-server.ts";
import { invalidParams, objectParams } from "./params.ts";

/** The daemon's own state, and the requests that change it: status, stop, pause, resume. */
export interface StatusControl {
  status(): StatusResult;
  /** Starts a graceful stop; the answer goes out first. */
  stop(graceMs: number): void;
  /** Returns whether anything changed. */
  pause(): boolean;
  /** Rejects (still paused) with PortUnavailable when a port was taken while paused, ListenersStillOpen, or DaemonStopping. */
  resume(): Promise<boolean>;
}

/** resume during a stop: the listeners stay closed. */
export class DaemonStopping extends Error {
  constructor() {
    super("not resumed: the daemon is stopping");
    this.name = "DaemonStopping";
  }
}

/** Why resume did not open the listeners, in one sentence for the operator; the daemon stays paused. */
function notResumed(error: unknown): JSONRPCErrorException | null {
  if (error instanceof DaemonStopping)
    return new JSONRPCErrorException(error.message, RpcErrorCode.unavailable);
  if (error instanceof ListenersStillOpen)
    return new JSONRPCErrorException(
      `not resumed: ${error.message}; still paused (try again once it has been restarted, within --thread-timeout)`,
      RpcErrorCode.portUnavailable,
    );
  if (!(error instanceof PortUnavailable)) return null;
  const what =
    error.code === "EADDRINUSE"
      ? `port ${error.port} (${error.service}) on ${formatHost(error.host)} was taken by another program or another tsd-daemon while paused`
      : `cannot listen for ${error.service} on ${formatHost(error.host)}:${error.port}: ${error.code}`;
  return new JSONRPCErrorException(
    `not resumed: ${what}; still paused (free the port and resume again, or restart tsd with another ${portFlag(error.service)})`,
    RpcErrorCode.portUnavailable,
  );
}

export function statusHandlers(daemon: StatusControl, defaultGraceMs: number) {
  const servePause: Serve<"pause"> = () => ({ paused: true, changed: daemon.pause() });

  const serveResume: Serve<"resume"> = async () => {
    try {
      return { paused: false, changed: await daemon.resume() };
    } catch (error) {
      throw notResumed(error) ?? error;
    }
  };

  const serveStatus: Serve<"status"> = () => daemon.status();

  const serveStop: Serve<"stop"> = (params) => {
    const { graceMs = defaultGraceMs } = objectParams(params);
    if (typeof graceMs !== "number" || !Number.isFinite(graceMs) || graceMs < 0 || graceMs > MAX_GRACE_MS) {
      throw invalidParams(`graceMs must be a number of milliseconds 0-${MAX_GRACE_MS}`);
    }
    daemon.stop(graceMs);
    return { stopping: true };
  };

  return { servePause, serveResume, serveStatus, serveStop };
}

/** A session thread as the status counts it. */
export interface ThreadView {
  worker: number;
  thread: number;
  sessions: { chat: number; echo: number; tls?: number };
  listening: Partial<Record<ServiceName, boolean>>;
}

/** What the status is made of, read from the running daemon at the moment it is asked. */
export interface StatusView {
  version: string;
  pid: number;
  startedAt: Date;
  now: number;
  paused: boolean;
  host: string;
  ports: ListenPorts;
  workers: readonly { id: number; pid: number }[];
  threads: readonly ThreadView[];
  usersOnline: number;
}

/** The status answer: sessions summed per worker and in all, a listener listening when any thread is. */
export function describeStatus(view: StatusView): StatusResult {
  const sessionsOf = (thread: ThreadView) =>
    thread.sessions.chat + thread.sessions.echo + (thread.sessions.tls ?? 0);
  // tls: chat over TLS, counted only there (chat is over plain TCP); present when TLS is on.
  const sessions: { chat: number; echo: number; tls?: number } = { chat: 0, echo: 0 };
  if (view.ports["chat-tls"] !== undefined) sessions.tls = 0;
  for (const thread of view.threads) {
    sessions.chat += thread.sessions.chat;
    sessions.echo += thread.sessions.echo;
    if (sessions.tls !== undefined) sessions.tls += thread.sessions.tls ?? 0;
  }
  const services = Object.entries(view.ports) as [ServiceName, number][];
  return {
    version: view.version,
    pid: view.pid,
    startedAt: view.startedAt.toISOString(),
    uptimeSeconds: Math.floor((view.now - view.startedAt.getTime()) / 1000),
    paused: view.paused,
    listeners: services.map(([service, port]) => ({
      service,
      host: view.host,
      port,
      listening: !view.paused && view.threads.some((thread) => thread.listening[service] === true),
    })),
    workers: view.workers.map((worker) => {
      const own = view.threads
        .filter((thread) => thread.worker === worker.id)
        .sort((a, b) => a.thread - b.thread);
      return {
        id: worker.id,
        pid: worker.pid,
        threads: own.length,
        sessions: own.reduce((sum, thread) => sum + sessionsOf(thread), 0),
        threadSessions: own.map(sessionsOf),
      };
    }),
    sessions,
    usersOnline: view.usersOnline,
  };
}
