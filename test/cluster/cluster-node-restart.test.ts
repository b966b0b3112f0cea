import anyTest, { type TestFn } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { NO_REDIS, register, rpc, startNode, TestRedis } from "./cluster-helpers.ts";

/**
 * The whole cluster killed (a power cut) and a daemon started again under its stable node id
 * (TSD_NODE_ID, as docs/cluster.md's example sets it): nobody was left to reap the old process,
 * so its users must be announced left and dropped from who by the daemon that takes the id
 * again, not kept listed for ever. Real redis-server, real daemons, kill -9 of the process group.
 */
const test = anyTest as TestFn<{ redis: TestRedis; open: ChatClient[] }>;
const serial = NO_REDIS ? test.serial.skip : test.serial;
const why = NO_REDIS ? ` (skipped: ${NO_REDIS})` : "";
const CLUSTER = "restart";

test.before(async (t) => {
  t.context.open = [];
  if (NO_REDIS) return;
  const redis = new TestRedis();
  await redis.start();
  t.context.redis = redis;
});

test.after.always(async (t) => {
  for (const client of t.context.open) client.close();
  await t.context.redis?.cleanup();
});

/** Resolves once the node's lease has run out on Redis's clock (polled, at most 30 s). */
async function leaseRunOut(redis: TestRedis, node: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const lease = await redis.cli("zscore", `tsd:{${CLUSTER}}:nodes`, node);
    const [seconds, micros] = (await redis.cli("time")).split("\n");
    if (lease === "" || Number(lease) < Number(seconds) * 1000 + Number(micros) / 1000) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the lease of ${node} did not run out within 30 s`);
}

serial(
  `cluster - a node id taken again after the whole cluster was killed: its old users left once${why}`,
  async (t) => {
    const { redis, open } = t.context;
    const first = await startNode(redis, "solo", ["--cluster", CLUSTER]);
    t.teardown(() => first.cleanup());
    await register(first, open, "una");
    await register(first, open, "vic");
    process.kill(-first.proc.pid!, "SIGKILL");
    await leaseRunOut(redis, "solo");

    const again = await startNode(redis, "solo", ["--cluster", CLUSTER]);
    t.teardown(() => again.cleanup());
    const users = await rpc<{ name: string }[]>(again, "users.list");
    t.deepEqual(
      users.map((u) => u.name),
      [],
      "the killed process's users are still listed",
    );
    const events = await redis.cli("xrange", `tsd:{${CLUSTER}}:events`, "-", "+");
    t.is((events.match(/"left":"una"/g) ?? []).length, 1, events);
    t.is((events.match(/"left":"vic"/g) ?? []).length, 1, events);
    // A new sign-in on the restarted daemon: who lists it alone.
    const wes = await register(again, open, "wes");
    wes.send("/who");
    t.is(await wes.line(/^\* \d+ online: /), "* 1 online: wes");
  },
);

serial(
  `cluster - a daemon killed and started again at once under its node id waits out its old lease${why}`,
  async (t) => {
    const { redis, open } = t.context;
    const cluster = ["--cluster", "crash"];
    const first = await startNode(redis, "crashy", cluster);
    t.teardown(() => first.cleanup());
    await register(first, open, "xia");
    process.kill(-first.proc.pid!, "SIGKILL");
    await first.exited;
    // As systemd's Restart= does: at once, the old process's lease still live.
    const startedAt = Date.now();
    const again = await startNode(redis, "crashy", cluster);
    t.teardown(() => again.cleanup());
    const elapsed = Date.now() - startedAt;
    t.log(`started again under its node id after ${elapsed} ms`);
    t.true(elapsed <= 20_000, `started after ${elapsed} ms`);
    const users = await rpc<{ name: string }[]>(again, "users.list");
    t.deepEqual(
      users.map((u) => u.name),
      [],
    );
  },
);
