import type { TestFn } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import type { RunningDaemon } from "../helpers/daemon.ts";
import { NO_REDIS, startNode, TestRedis } from "./cluster-helpers.ts";

export interface PairContext {
  redis: TestRedis;
  /** Two daemons of one cluster (node ids a and b) on the same Redis. */
  a: RunningDaemon;
  b: RunningDaemon;
  open: ChatClient[];
}

/**
 * Starts a real redis-server and two daemons on it before the file's tests; after each test its
 * clients are closed; after the file everything stops. Without redis-server the tests are skipped,
 * their titles saying why.
 */
export function daemonPair(test: TestFn<PairContext>) {
  test.before(async (t) => {
    t.context.open = [];
    if (NO_REDIS) return;
    const redis = new TestRedis();
    t.context.redis = redis;
    await redis.start();
    [t.context.a, t.context.b] = await Promise.all([startNode(redis, "a"), startNode(redis, "b")]);
  });
  test.afterEach.always((t) => {
    for (const client of t.context.open.splice(0)) client.close();
  });
  test.after.always(async (t) => {
    await Promise.all([t.context.a?.cleanup(), t.context.b?.cleanup()]);
    await t.context.redis?.cleanup();
  });
  return {
    serial: NO_REDIS ? test.serial.skip : test.serial,
    why: NO_REDIS ? ` (skipped: ${NO_REDIS})` : "",
  };
}
