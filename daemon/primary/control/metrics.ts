import { JSONRPCErrorException } from "json-rpc-2.0";
import { type MetricsResult, RpcErrorCode } from "../../../protocol/rpc.ts";
import type { Serve } from "./control-server.ts";

/** The counters and gauges (metrics.ts collects them from the session threads). */
export interface MetricsControl {
  /** Optional so that a control without threads to ask (a test's) need not fake one. */
  metrics?(): Promise<MetricsResult>;
}

export function metricsHandlers(control: MetricsControl) {
  const serveMetrics: Serve<"metrics"> = () => {
    if (!control.metrics)
      throw new JSONRPCErrorException("metrics are not collected here", RpcErrorCode.methodNotFound);
    return control.metrics();
  };

  return { serveMetrics };
}
