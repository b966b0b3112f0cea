import { randomBytes } from "node:crypto";
import os from "node:os";
import { ClusterKeys } from "./cluster-keys.ts";
import { RedisChatHub } from "./redis-chat-hub.ts";
import { RedisLink } from "./redis-link.ts";

export interface ClusterSettings {
  redisUrl: string;
  name: string;
  nodeId: string | undefined;
  connectTimeoutMs: number;
}

export interface OpenClusterOptions {
  cluster: ClusterSettings;
  /** Read at each admission (config.set may change it). */
  maxPerAddress: () => number;
  registrationsPerHour: number;
  historyKeep: number;
  log: (level: "info" | "debug" | "warn" | "error", msg: string, meta?: Record<string, unknown>) => void;
}

/** The node id when --node-id is not given: the host name and a short random suffix, stable for the process's life. */
export function defaultNodeId(): string {
  return `${os.hostname()}-${randomBytes(3).toString("hex")}`;
}

/**
 * Joins the cluster (--hub redis): connects to Redis within --redis-connect-timeout (else a
 * RedisUnreachable naming the URL without its password), and opens the cluster's hub. This
 * module, and the Redis client through it, is loaded only in cluster mode (a dynamic import).
 */
export async function openCluster(opts: OpenClusterOptions): Promise<RedisChatHub> {
  const node = opts.cluster.nodeId ?? defaultNodeId();
  const redis = await RedisLink.connect({
    url: opts.cluster.redisUrl,
    connectTimeoutMs: opts.cluster.connectTimeoutMs,
    name: `tsd-${node}`.replace(/[^A-Za-z0-9_.-]/g, "_"),
    log: opts.log,
  });
  try {
    const hub = await RedisChatHub.open({
      redis,
      keys: new ClusterKeys(opts.cluster.name),
      cluster: opts.cluster.name,
      node,
      host: os.hostname(),
      get maxPerAddress() {
        return opts.maxPerAddress();
      },
      registrationsPerHour: opts.registrationsPerHour,
      historyKeep: opts.historyKeep,
      log: opts.log,
    });
    opts.log("info", "joined the cluster", { cluster: opts.cluster.name, node, redis: redis.url });
    return hub;
  } catch (error) {
    redis.close();
    throw error;
  }
}
