import type { StatusResult } from "../protocol/rpc.ts";
import { type ControlMethod, invalidParams } from "./control-server.ts";

/** What the control methods can ask of the running daemon. */
export interface DaemonControl {
  status(): StatusResult;
  stop(graceMs: number): void;
  /** Returns whether anything changed. */
  pause(): boolean;
  resume(): boolean;
}

const MAX_GRACE_MS = 10 * 60_000;

function objectParams(params: unknown): Record<string, unknown> {
  if (params === undefined || params === null) return {};
  if (typeof params !== "object" || Array.isArray(params)) throw invalidParams("params must be an object");
  return params as Record<string, unknown>;
}

/** The control socket's method table, kept in name order (a test checks it). */
export function buildControlMethods(
  daemon: DaemonControl,
  defaultGraceMs: number,
): Record<string, ControlMethod> {
  const servePause: ControlMethod = () => ({ paused: true, changed: daemon.pause() });

  const serveResume: ControlMethod = () => ({ paused: false, changed: daemon.resume() });

  const serveStatus: ControlMethod = () => daemon.status();

  const serveStop: ControlMethod = (params) => {
    const { graceMs = defaultGraceMs } = objectParams(params);
    if (typeof graceMs !== "number" || !Number.isFinite(graceMs) || graceMs < 0 || graceMs > MAX_GRACE_MS) {
      throw invalidParams(`graceMs must be a number of milliseconds 0-${MAX_GRACE_MS}`);
    }
    daemon.stop(graceMs);
    return { stopping: true };
  };

  return {
    pause: servePause,
    resume: serveResume,
    status: serveStatus,
    stop: serveStop,
  };
}
