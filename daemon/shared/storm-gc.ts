import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import { STORM_GC } from "./limits.ts";

/** V8's full collection, exposed to this isolate only for the one call storms need. */
function fullCollection(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

/**
 * collectAfterStorms runs one full garbage collection when a storm of sign-ins (activity counts
 * at least STORM_GC.events) has been followed by STORM_GC.quietMs with none and with the event
 * loop nearly idle (busy under STORM_GC.idleUtilization of the time). A storm of 10,000 sign-ins
 * leaves tens of MiB of garbage (each new user's online list, its JSON) that V8 would keep
 * resident for a long while, since an idle chat allocates too little to start a collection; the
 * collection's pause (tens of milliseconds) then delays nobody's line. While lines flow, V8
 * collects on its own and no pause is added (it showed in the fan-out p99 right after sign-ins).
 * activity: a count that grows with sign-ins (any other change counts as activity too).
 */
export function collectAfterStorms(activity: () => number): void {
  let gc: (() => void) | null = null;
  let last = activity();
  let sinceCollection = 0;
  let quietMs = 0;
  let loop = performance.eventLoopUtilization();
  setInterval(() => {
    const now = activity();
    const delta = Math.abs(now - last);
    last = now;
    const busy = performance.eventLoopUtilization(loop).utilization;
    loop = performance.eventLoopUtilization();
    if (delta > 0 || busy > STORM_GC.idleUtilization) {
      sinceCollection += delta;
      quietMs = 0;
      return;
    }
    quietMs += STORM_GC.checkMs;
    if (sinceCollection < STORM_GC.events || quietMs < STORM_GC.quietMs) return;
    sinceCollection = 0;
    gc ??= fullCollection();
    gc();
  }, STORM_GC.checkMs).unref();
}
