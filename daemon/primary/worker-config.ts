import type { ListenPorts, ServiceConfig } from "../../protocol/hub-messages.ts";
import type { DaemonOptions } from "./options.ts";

/** What every worker process and its session threads are started with (the ports as asked: 0 is picked later). */
export function workerConfig(
  opts: DaemonOptions,
  where: { stateDir: string; hubPath: string; ports: ListenPorts },
): ServiceConfig {
  return {
    host: opts.host,
    chatPort: where.ports.chat ?? null,
    tlsPort: where.ports["chat-tls"] ?? null,
    echoPort: where.ports.echo ?? null,
    threads: opts.threads,
    hubPath: where.hubPath,
    maxLine: opts.maxLine,
    loginTimeoutSeconds: opts.loginTimeout,
    maxPerAddress: opts.maxPerAddress,
    floodBurst: opts.floodBurst,
    floodRate: opts.floodRate,
    floodQueue: opts.floodQueue,
    outputLimit: opts.outputLimit,
    stateDir: where.stateDir,
    logLevel: opts.logLevel,
    reservedNames: opts.reservedNames,
    ...(opts.cluster ? { hub: "redis" as const } : {}),
  };
}
