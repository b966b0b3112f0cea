import test from "ava";
import { ClusterKeys } from "../../daemon/primary/cluster/cluster-keys.ts";
import { ClusterPresence } from "../../daemon/primary/cluster/cluster-presence.ts";
import { RedisLink } from "../../daemon/primary/cluster/redis-link.ts";
import type { Member } from "../../daemon/primary/hub/roster.ts";
import { waitFor } from "../helpers/daemon.ts";
import { NO_REDIS, TestRedis } from "./cluster-helpers.ts";
import { CuttingProxy } from "./cutting-proxy.ts";

/**
 * After an outage during which many users left, the leaves Redis could not be told are told by
 * the next beat that gets through, inside the beat: one round trip each was 10,000 round trips
 * for 10,000 departures, seconds on a link of a few ms, enough to pass the lease (5 s) and have
 * the other daemons declare this one dead. They go in batches, one round trip a batch. Against a
 * real redis-server behind a proxy that adds DELAY_MS each way (a LAN, another zone).
 */
const serial = NO_REDIS ? test.serial.skip : test.serial;
const why = NO_REDIS ? ` (skipped: ${NO_REDIS})` : "";
const NODE = "n1";
const DEPARTURES = 10_000;
const DELAY_MS = 2;

function member(i: number): Member {
  const now = Date.now();
  return {
    sid: `s${i}`,
    key: `u${i}`,
    name: `u${i}`,
    address: "127.0.0.1",
    since: new Date(now),
    peer: { worker: 0, thread: 0 } as unknown as Member["peer"],
    away: null,
    lastActive: now,
  };
}

serial(
  `cluster - ${DEPARTURES} leaves queued during an outage are told in a few round trips${why}`,
  async (t) => {
    const redis = new TestRedis();
    let direct: RedisLink | null = null;
    let link: RedisLink | null = null;
    t.teardown(async () => {
      direct?.close();
      link?.close();
      await redis.cleanup();
    });
    await redis.start();
    const proxy = new CuttingProxy(redis.port, { delayMs: DELAY_MS });
    t.teardown(() => proxy.close());
    await proxy.listen();
    const keys = new ClusterKeys("batch");
    const connect = (url: string, name: string) =>
      RedisLink.connect({ url, connectTimeoutMs: 5000, name, log: () => {} });
    direct = await connect(redis.url, "tsd-setup");
    link = await connect(`redis://127.0.0.1:${proxy.port}`, "tsd-slow");
    const members = Array.from({ length: DEPARTURES }, (_, i) => member(i));
    // Signed in (set up directly, pipelined), then all leave while Redis is away.
    const setup = new ClusterPresence(direct, keys, NODE);
    for (let at = 0; at < members.length; at += 1000)
      await Promise.all(members.slice(at, at + 1000).map((m) => setup.join(m)));
    t.is(Number(await redis.cli("HLEN", keys.online)), DEPARTURES);
    const presence = new ClusterPresence(link, keys, NODE);
    proxy.cutAll();
    await waitFor(() => !link!.connected, 10_000, "the link to drop");
    for (const m of members) await presence.leave(presence.record(m));
    t.is(Number(await redis.cli("HLEN", keys.online)), DEPARTURES, "a leave reached Redis during the outage");
    proxy.refusing = false;
    await waitFor(() => link!.connected, 20_000, "the link to reconnect");

    const startedAt = Date.now();
    const told = presence.tellPendingLeaves().then(() => Date.now() - startedAt);
    // Bounded: the old code needs DEPARTURES round trips (at least DEPARTURES x 2 x DELAY_MS).
    const tookMs = await Promise.race([
      told,
      new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 120_000).unref()),
    ]);
    const left = Number(await redis.cli("HLEN", keys.online));
    t.log(`${DEPARTURES} queued leaves told in ${tookMs} ms through a link of ${DELAY_MS} ms each way`);
    t.is(left, 0, `${left} still online`);
    // One round trip each would be at least 40 s; the lease is 5 s. Generous for a loaded machine.
    t.true(tookMs < 10_000, `${tookMs} ms`);
    await told;
  },
);
