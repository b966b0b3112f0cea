import anyTest, { type TestFn } from "ava";
import { ClusterKeys } from "../../daemon/primary/cluster/cluster-keys.ts";
import { AWAY_UNAVAILABLE, BACK, NOT_AWAY } from "../../protocol/chat-lines.ts";
import { waitFor } from "../helpers/daemon.ts";
import { register, rpc } from "./cluster-helpers.ts";
import { type ProxiedPairContext, proxiedPair } from "./proxied-pair.ts";

/**
 * An /away whose answer is lost with the link to Redis (it ran there; the daemon cannot know):
 * the user is told it was not changed, so Redis must end up holding that too, and the daemon's
 * copy must be what Redis holds (the next /away is answered from it, and the other daemons show
 * it). (Two /away of one session are never in flight at once: its thread handles one line after
 * the other; a lost answer is how the copies came apart.) A real redis-server, a real daemon
 * behind a TCP proxy that loses Redis's answers, and one daemon on Redis directly.
 */
const test = anyTest as TestFn<ProxiedPairContext>;
const { serial, why } = proxiedPair(test);

const ONLINE = new ClusterKeys("tsd").online;
const UNAVAILABLE = AWAY_UNAVAILABLE.trimEnd();

async function awayInRedis(t: { context: ProxiedPairContext }, key: string): Promise<string | null> {
  const text = await t.context.redis.cli("HGET", ONLINE, key);
  return (JSON.parse(text) as { away: string | null }).away;
}

serial(
  `cluster - an /away whose answer is lost: Redis ends with what the user was told, and so does the daemon${why}`,
  async (t) => {
    const { direct, proxied, proxy, open } = t.context;
    const watcher = await register(direct, open, "walt");
    const bob = await register(proxied, open, "bob");
    await watcher.announced("bob", "joined");
    const losing = proxy.when("out to lunch", "lose-answers");
    bob.send("/away out to lunch");
    await losing;
    // It ran on Redis; its answer never reaches the daemon.
    await waitFor(async () => (await awayInRedis(t, "bob")) === "out to lunch", 10_000, "the /away to run");
    proxy.cutDaemonSide();
    proxy.mode = "pass";
    const cutAt = Date.now();
    const told = await bob.line(/^[!*] /, 20_000);
    t.log(`told: ${told}`);
    // Nothing typed meanwhile (a chat line would write bob's record again as a matter of course).
    await waitFor(
      async () => {
        const status = await rpc<{ cluster: { redis: { connected: boolean; fault?: string } } }>(
          proxied,
          "status",
        );
        return status.cluster.redis.connected && status.cluster.redis.fault === undefined;
      },
      20_000,
      "the daemon to reconnect",
    );
    const expected = told === UNAVAILABLE ? null : "out to lunch";
    const settled = await waitFor(
      async () => ((await awayInRedis(t, "bob")) === expected ? "ok" : null),
      15_000,
      `Redis to hold ${expected}`,
    ).catch(() => null);
    t.log(`Redis held ${expected} ${Date.now() - cutAt} ms after the cut`);
    t.is(settled, "ok", `Redis holds ${await awayInRedis(t, "bob")}; the user was told ${told}`);
    watcher.send("/who");
    const online = await watcher.line(/^\* \d+ online: /);
    t.is(online.includes("bob (away)"), expected !== null, online);
    bob.send("/away");
    const said = await bob.line(/^\* you (are back|were not away)$/);
    t.is(said, expected === null ? NOT_AWAY.trimEnd() : BACK.trimEnd());
  },
);
