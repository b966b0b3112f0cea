import anyTest, { type TestFn } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, waitFor } from "../helpers/daemon.ts";
import { NO_REDIS, register, rpc, startNode, TestRedis } from "./cluster-helpers.ts";

/**
 * Redis without tsd's scripts (a restart, SCRIPT FLUSH) while a user pastes a block of lines:
 * on the other daemon they arrive in the order sent, each once, or are refused (one `! ` line to
 * the author each) and then never delivered. Real redis-server, two real daemons.
 */
interface Context {
  redis: TestRedis;
  nodes: RunningDaemon[];
  open: ChatClient[];
}
const test = anyTest as TestFn<Context>;
const serial = NO_REDIS ? test.serial.skip : test.serial;
const why = NO_REDIS ? ` (skipped: ${NO_REDIS})` : "";

test.before(async (t) => {
  t.context.open = [];
  t.context.nodes = [];
  if (NO_REDIS) return;
  t.context.redis = new TestRedis();
  await t.context.redis.start();
  t.context.nodes = await Promise.all(["a", "b"].map((id) => startNode(t.context.redis, id)));
});
test.afterEach.always((t) => {
  for (const client of t.context.open.splice(0)) client.close();
});
test.after.always(async (t) => {
  await Promise.all(t.context.nodes.map((node) => node.cleanup()));
  await t.context.redis?.cleanup();
});

const LINES = 300;

interface Burst {
  delivered: number[];
  refused: number;
}

/**
 * Sends LINES numbered lines from `from` in small writes, one after another without waiting,
 * then an end line; resolves once `to` has the end line (a sender's lines arrive in order, so
 * every line of the burst that will ever arrive is there) and `from` has been answered for each.
 */
async function burst(from: ChatClient, to: ChatClient, tag: string): Promise<Burst> {
  const result: Burst = { delivered: [], refused: 0 };
  for (let n = 0; n < LINES; n += 5) {
    from.write(Array.from({ length: 5 }, (_, i) => `${tag} ${n + i}\r\n`).join(""));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const counting = (async () => {
    for (;;) {
      const line = await to.line(new RegExp(`^<\\w+> ${tag} (\\d+|end)$`), 20_000);
      if (line.endsWith(" end")) return;
      result.delivered.push(Number(line.split(" ").pop()));
    }
  })();
  let answered = false;
  const refusals = (async () => {
    while (!answered) {
      const left = await from.line(/^! /, 200).catch(() => null);
      if (left === null) continue;
      if (!left.endsWith("your line was not sent")) throw new Error(`unexpected: ${left}`);
      result.refused++;
    }
  })();
  await waitFor(() => result.delivered.length + result.refused >= LINES, 20_000, "each line answered");
  answered = true;
  from.send(`${tag} end`);
  await counting;
  await refusals;
  return result;
}

function check(
  t: {
    deepEqual: (a: unknown, b: unknown, m?: string) => void;
    is: (a: unknown, b: unknown, m?: string) => void;
  },
  run: Burst,
): void {
  const sorted = [...new Set(run.delivered)].sort((x, y) => x - y);
  t.deepEqual(run.delivered, sorted, "a line delivered twice or out of order");
  t.is(run.delivered.length + run.refused, LINES, "each line delivered once or refused, never both");
}

serial(
  `cluster - SCRIPT FLUSH under a pasted block: lines in order, each delivered once or refused${why}`,
  async (t) => {
    const [a, b] = t.context.nodes as [RunningDaemon, RunningDaemon];
    const { open, redis } = t.context;
    const bob = await register(b, open, "bob");
    const alice = await register(a, open, "alice");
    await bob.announced("alice", "joined");
    alice.send("warm");
    await bob.line("<alice> warm");
    await redis.cli("SCRIPT", "FLUSH");
    const run = await burst(alice, bob, "flush");
    t.log(`after SCRIPT FLUSH: ${run.delivered.length} delivered, ${run.refused} refused of ${LINES}`);
    check(t, run);
  },
);

serial(
  `cluster - Redis restarted (shutdown nosave): a pasted block after it arrives whole and in order${why}`,
  async (t) => {
    const [a, b] = t.context.nodes as [RunningDaemon, RunningDaemon];
    const { open, redis } = t.context;
    await redis.shutdown();
    await redis.start();
    const connected = async (node: RunningDaemon) =>
      (await rpc<{ cluster: { redis: { connected: boolean } } }>(node, "status")).cluster.redis.connected;
    await waitFor(
      async () => (await connected(a)) && (await connected(b)),
      20_000,
      "both daemons connected again",
    );
    // Registered after the restart, anna announced on b: the cluster works again (stream read).
    const bob = await register(b, open, "bert");
    const alice = await register(a, open, "anna");
    await bob.announced("anna", "joined", 20_000);
    const run = await burst(alice, bob, "restart");
    t.log(`after a restart: ${run.delivered.length} delivered, ${run.refused} refused of ${LINES}`);
    check(t, run);
    // Each connection loads the scripts before using them: Redis never answers NOSCRIPT, nothing is refused.
    t.is(run.refused, 0, "lines refused after the restart although Redis answers");
  },
);
