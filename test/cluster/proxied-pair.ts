import type { TestFn } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import type { RunningDaemon } from "../helpers/daemon.ts";
import { NO_REDIS, startNode, TestRedis } from "./cluster-helpers.ts";
import { CuttingProxy } from "./cutting-proxy.ts";

export interface ProxiedPairContext {
  redis: TestRedis;
  proxy: CuttingProxy;
  /** A daemon on Redis directly (the watcher's), and one behind the proxy (the one under test). */
  direct: RunningDaemon;
  proxied: RunningDaemon;
  open: ChatClient[];
}

/**
 * Starts a real redis-server, a TCP proxy in front of it and two daemons before the file's tests:
 * one on Redis directly, one through the proxy. After each test its clients are closed and the
 * proxy forwards again; after the file everything stops. Without redis-server the tests are
 * skipped, their titles saying why.
 */
export function proxiedPair(test: TestFn<ProxiedPairContext>) {
  test.before(async (t) => {
    t.context.open = [];
    if (NO_REDIS) return;
    const redis = new TestRedis();
    t.context.redis = redis;
    await redis.start();
    const proxy = new CuttingProxy(redis.port);
    t.context.proxy = proxy;
    await proxy.listen();
    [t.context.direct, t.context.proxied] = await Promise.all([
      startNode(redis, "direct"),
      startNode(proxy, "proxied"),
    ]);
  });
  test.afterEach.always((t) => {
    for (const client of t.context.open.splice(0)) client.close();
    if (t.context.proxy) t.context.proxy.mode = "pass";
  });
  test.after.always(async (t) => {
    await Promise.all([t.context.direct?.cleanup(), t.context.proxied?.cleanup()]);
    t.context.proxy?.close();
    await t.context.redis?.cleanup();
  });
  return {
    serial: NO_REDIS ? test.serial.skip : test.serial,
    why: NO_REDIS ? ` (skipped: ${NO_REDIS})` : "",
  };
}
