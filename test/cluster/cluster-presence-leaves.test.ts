import test from "ava";
import { ClusterKeys } from "../../daemon/primary/cluster/cluster-keys.ts";
import { ClusterPresence } from "../../daemon/primary/cluster/cluster-presence.ts";
import { NodeLease } from "../../daemon/primary/cluster/node-lease.ts";
import { RedisLink } from "../../daemon/primary/cluster/redis-link.ts";
import type { Member } from "../../daemon/primary/hub/roster.ts";
import { waitFor } from "../helpers/daemon.ts";
import { NO_REDIS, TestRedis } from "./cluster-helpers.ts";

/**
 * The leaves a node could not tell Redis (a join whose answer was lost, taken back while Redis is
 * away) against a real redis-server: one connection signing in as another name before the leave
 * is told keeps the first name's leave, and a clean stop takes off line every record of the node.
 */
const serial = NO_REDIS ? test.serial.skip : test.serial;
const why = NO_REDIS ? ` (skipped: ${NO_REDIS})` : "";
const NODE = "n1";

function member(sid: string, name: string): Member {
  const now = Date.now();
  return {
    sid,
    key: name,
    name,
    address: "127.0.0.1",
    since: new Date(now),
    peer: { worker: 0, thread: 0 } as unknown as Member["peer"],
    away: null,
    lastActive: now,
  };
}

async function withRedis(run: (redis: TestRedis, link: RedisLink, keys: ClusterKeys) => Promise<void>) {
  const redis = new TestRedis();
  let link: RedisLink | null = null;
  try {
    await redis.start();
    link = await RedisLink.connect({
      url: redis.url,
      connectTimeoutMs: 5000,
      name: "tsd-test",
      log: () => {},
    });
    await run(redis, link, new ClusterKeys("leaves"));
  } finally {
    link?.close();
    await redis.cleanup();
  }
}

serial(
  `cluster - a leave Redis missed survives the same connection signing in as another name${why}`,
  async (t) => {
    await withRedis(async (redis, link, keys) => {
      const presence = new ClusterPresence(link, keys, NODE);
      const alice = member("S", "alice");
      // alice's join ran (its answer lost, as the hub sees it); Redis goes away before her leave is told.
      await presence.join(alice);
      await redis.shutdown();
      await presence.leave(presence.record(alice));
      await redis.start();
      await waitFor(() => link.connected, 20_000, "the link to reconnect");
      t.true(await presence.isOnline("alice"), "the AOF kept alice's record");
      // The same connection signs in as bob before the next beat tells the pending leave.
      const bob = member("S", "bob");
      presence.cancelLeave("S", "bob");
      await presence.join(bob);
      await presence.tellPendingLeaves();
      t.false(await presence.isOnline("alice"), "alice left listed online without a session");
      t.true(await presence.isOnline("bob"));
    });
  },
);

serial(
  `cluster - a clean stop takes every record of the node off line, a missed leave's too${why}`,
  async (t) => {
    await withRedis(async (_redis, link, keys) => {
      const presence = new ClusterPresence(link, keys, NODE);
      const other = new ClusterPresence(link, keys, "n2");
      const lease = new NodeLease({
        redis: link,
        keys,
        cluster: "leaves",
        node: NODE,
        host: "test",
        log: () => {},
        users: () => 0,
        afterBeat: async () => {},
      });
      await lease.claim();
      // carol's leave was never told (a join whose answer was lost); dan is on another node.
      await presence.join(member("S", "carol"));
      await other.join(member("T", "dan"));
      await lease.release();
      t.false(await presence.isOnline("carol"), "a record of the stopped node stayed online");
      t.true(await presence.isOnline("dan"), "another node's member taken off line");
      const events = (await link.call(["XRANGE", keys.events, "-", "+"])) as [string, string[]][];
      const left = events
        .map(([, fields]) => JSON.parse(fields[1]!) as { left?: string })
        .filter((e) => e.left);
      t.deepEqual(left.map((e) => e.left).sort(), ["carol"]);
    });
  },
);
