import { JSONRPCErrorException } from "json-rpc-2.0";
import { RpcErrorCode } from "../../../protocol/rpc.ts";
import type { ThreadLink } from "../hub/hub-server.ts";
import type { Log } from "../log/logger.ts";
import type { Serve } from "./control-server.ts";
import { invalidParams, objectParams } from "./params.ts";

/** Fault injection for the tests, only with --debug-faults: debug.crashThread. */
export interface DebugControl {
  /** False when there is no such thread. */
  crashThread(worker: number, thread: number, mode: "throw" | "freeze"): boolean;
}

export function debugHandlers(debug: DebugControl) {
  const serveDebugCrashThread: Serve<"debug.crashThread"> = (params) => {
    const { worker, thread, mode = "throw" } = objectParams(params);
    if (!Number.isInteger(worker) || !Number.isInteger(thread))
      throw invalidParams("worker and thread must be integers");
    if (mode !== "throw" && mode !== "freeze") throw invalidParams('mode must be "throw" or "freeze"');
    if (!debug.crashThread(worker as number, thread as number, mode)) {
      throw new JSONRPCErrorException(`no thread ${thread} in worker ${worker}`, RpcErrorCode.unavailable);
    }
    return { crashing: true };
  };

  return { serveDebugCrashThread };
}

/** Crashes a session thread through its hub link; the request is logged. */
export function debugControl(links: Iterable<ThreadLink>, log: Log): DebugControl {
  return {
    crashThread: (worker, thread, mode) => {
      const link = [...links].find((l) => l.worker === worker && l.thread === thread);
      if (!link) return false;
      log("warn", "crashing a session thread on request (--debug-faults)", { worker, thread, mode });
      link.send({ k: "crash", mode });
      return true;
    },
  };
}
