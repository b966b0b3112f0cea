import anyTest, { type TestFn } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import type { RunningDaemon } from "../helpers/daemon.ts";
import { NO_REDIS, register, startNode, TestRedis, who } from "./cluster-helpers.ts";

/**
 * Join and leave storms in a cluster (chat-protocol.md's MAY, as the embedded hub does): more than
 * 10 users joining, or leaving, within a second are told one combined line a second
 * (`* 14 left: ...`), and each user is still announced exactly once, in one form or the other, on
 * every daemon. Real redis-server, two real daemons.
 */
interface Context {
  redis: TestRedis;
  a: RunningDaemon;
  b: RunningDaemon;
  open: ChatClient[];
}
const test = anyTest as TestFn<Context>;
const serial = NO_REDIS ? test.serial.skip : test.serial;
const why = NO_REDIS ? ` (skipped: ${NO_REDIS})` : "";
const CROWD = 14;

test.before(async (t) => {
  t.context.open = [];
  if (NO_REDIS) return;
  const redis = new TestRedis();
  t.context.redis = redis;
  await redis.start();
  [t.context.a, t.context.b] = await Promise.all([startNode(redis, "a"), startNode(redis, "b")]);
});

test.after.always(async (t) => {
  for (const client of t.context.open) client.close();
  await Promise.all([t.context.a?.cleanup(), t.context.b?.cleanup()]);
  await t.context.redis?.cleanup();
});

/**
 * Reads watcher's notices of verb until every one of names is announced (within 20 s): how often
 * each was named, and the combined lines seen.
 */
async function announced(
  watcher: ChatClient,
  verb: "joined" | "left",
  names: string[],
): Promise<{ times: Map<string, number>; combined: string[] }> {
  const times = new Map(names.map((name) => [name, 0]));
  const combined: string[] = [];
  const deadline = Date.now() + 20_000;
  while ([...times.values()].some((n) => n === 0)) {
    const line = await watcher.line(
      new RegExp(`^\\* (\\S+ ${verb}|\\d+ ${verb}: .*)$`),
      Math.max(1, deadline - Date.now()),
    );
    const many = new RegExp(`^\\* \\d+ ${verb}: (.*)$`).exec(line);
    if (many) combined.push(line);
    const named = many ? many[1]!.split(", ") : [line.slice(2, -verb.length - 1)];
    for (const name of named) if (times.has(name)) times.set(name, times.get(name)! + 1);
  }
  return { times, combined };
}

serial(
  `cluster - ${CROWD} users join and leave at once on one daemon: combined lines on the other, each user once${why}`,
  async (t) => {
    const { a, b, open } = t.context;
    const watcher = await register(a, open, "watcher");
    const names = Array.from({ length: CROWD }, (_, i) => `crowd${i}`);
    const crowd = await Promise.all(names.map((name) => register(b, open, name)));
    const joins = await announced(watcher, "joined", names);
    t.deepEqual(
      [...joins.times.values()],
      names.map(() => 1),
      "a join announced other than once",
    );
    t.log(`joins: ${joins.combined.length} combined lines`);
    for (const client of crowd) client.close();
    const leaves = await announced(watcher, "left", names);
    t.deepEqual(
      [...leaves.times.values()],
      names.map(() => 1),
      "a leave announced other than once",
    );
    t.true(leaves.combined.length > 0, `no combined line for ${CROWD} leaves at once`);
    t.log(`leaves: ${leaves.combined.join(" | ")}`);
    // Nothing more: a second later no notice names them again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    t.false(/crowd\d+/.test(watcher.unread), `announced again: ${watcher.unread}`);
    t.false((await who(watcher)).some((name) => name.startsWith("crowd")));
  },
);
