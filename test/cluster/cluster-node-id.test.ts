import anyTest, { type TestFn } from "ava";
import { type SpawnedDaemon, shape, spawnDaemon } from "../helpers/daemon.ts";
import { NO_REDIS, TestRedis } from "./cluster-helpers.ts";

/**
 * Two daemons started at the same instant under one new --node-id: exactly one joins the cluster,
 * the other exits 1 with one sentence naming the node id. Real redis-server, real daemons. The
 * stream holds 20,000 entries, as a cluster's does once it has chatted a while: the history read
 * at start then takes long enough that a claim made in two steps (check, then take at the first
 * heartbeat) lets both in.
 */
const test = anyTest as TestFn<{ redis: TestRedis }>;
const serial = NO_REDIS ? test.serial.skip : test.serial;
const why = NO_REDIS ? ` (skipped: ${NO_REDIS})` : "";
const ROUNDS = 5;

test.before(async (t) => {
  if (NO_REDIS) return;
  const redis = new TestRedis();
  t.context.redis = redis;
  await redis.start();
  await redis.cli(
    "EVAL",
    "for i = 1, 20000 do redis.call('XADD', KEYS[1], '*', 'e', '{\"t\":\"moderation\"}') end return 1",
    "1",
    "tsd:{tsd}:events",
  );
});

test.after.always(async (t) => {
  await t.context.redis?.cleanup();
});

function start(redis: TestRedis, node: string): SpawnedDaemon {
  return spawnDaemon(["--hub", "redis", "--redis-url", redis.url, "--node-id", node, ...shape(1, 1)]);
}

serial(
  `cluster - two daemons started at once under one new --node-id: exactly one runs, the other exits 1 naming it${why}`,
  async (t) => {
    const { redis } = t.context;
    for (let round = 0; round < ROUNDS; round++) {
      const node = `twin-${round}`;
      const pair = [start(redis, node), start(redis, node)];
      try {
        const outcomes = await Promise.all(pair.map((daemon) => daemon.started));
        const ready = outcomes.filter((outcome) => outcome.ready);
        t.is(ready.length, 1, `round ${round}: ${ready.length} daemons started under ${node}`);
        const refused = pair[outcomes.findIndex((outcome) => !outcome.ready)];
        if (!refused) continue;
        t.is((await refused.exited).code, 1);
        const said = refused.stderr().trim();
        t.regex(
          said,
          new RegExp(
            `the node id ${node} (is held by a live daemon|was taken by another daemon) of the cluster tsd.*give each daemon its own --node-id`,
          ),
        );
        t.is(said.split("\n").length, 1, `more than one line: ${said}`);
      } finally {
        await Promise.all(pair.map((daemon) => daemon.cleanup()));
      }
    }
  },
);
