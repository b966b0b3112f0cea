import anyTest, { type TestFn } from "ava";
import { JOIN } from "../../daemon/primary/cluster/cluster-scripts.ts";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, waitFor } from "../helpers/daemon.ts";
import { connect, register, rpc, who } from "./cluster-helpers.ts";
import { type ProxiedPairContext, proxiedPair } from "./proxied-pair.ts";

/**
 * A sign-in whose last write (the join) fails because Redis went away: the user is told politely
 * and asked for a name again on the same connection, and signs in once Redis is back; a join that
 * ran with its answer lost does not leave the user listed online. Real redis-server, real daemons;
 * the daemon under test talks to Redis through a TCP proxy that sees the join go out.
 */
const test = anyTest as TestFn<ProxiedPairContext>;
const { serial, why } = proxiedPair(test);
const REFUSED = "! signing in is not possible right now; try again later";

/** Resolves once the daemon's Redis connection is ready (status), within 20 s. */
async function redisReady(daemon: RunningDaemon): Promise<void> {
  await waitFor(
    async () =>
      (await rpc<{ cluster: { redis: { connected: boolean } } }>(daemon, "status").catch(() => null))?.cluster
        .redis.connected === true,
    20_000,
    "the daemon's Redis connection to be ready",
  );
}

/** The user at a `login: ` prompt signs in (name, then password): resolves with the `* N online` line. */
async function signInAtPrompt(client: ChatClient, name: string): Promise<string> {
  client.send(name);
  await client.prompt("password: ");
  client.send("secret-pw1");
  return client.line(/^\* \d+ online: /);
}

serial(
  `cluster - Redis stopped as a registration joins: a polite ! line, login: again on the same connection, in once Redis is back${why}`,
  async (t) => {
    const { redis, proxy, direct, proxied, open } = t.context;
    // The watcher's sign-in on the other daemon makes Redis know the join script.
    const watcher = await register(direct, open, "wes");
    const rita = await connect(proxied, open);
    const joinSent = proxy.when(JOIN.sha, "hold-requests");
    await rita.typeRegistration("rita", "secret-pw1");
    await joinSent;
    // The account is written; its join is on its way when Redis stops.
    await redis.shutdown();
    proxy.mode = "pass";
    proxy.cutDaemonSide();
    t.is(await rita.line(/^! /, 20_000), REFUSED);
    await rita.loginPrompt();
    t.false(rita.closed, "the connection was closed");
    await redis.start();
    await redisReady(proxied);
    t.regex(await signInAtPrompt(rita, "rita"), /^\* \d+ online: /);
    await watcher.announced("rita", "joined");
    t.is((await who(watcher)).filter((name) => name === "rita").length, 1);
    t.false(rita.closed);
  },
);

serial(
  `cluster - a join that ran with its answer lost: the user asked to sign in again, not left listed online${why}`,
  async (t) => {
    const { proxy, direct, proxied, open } = t.context;
    const watcher = await register(direct, open, "vera");
    const rex = await connect(proxied, open);
    const joinSent = proxy.when(JOIN.sha, "lose-answers");
    await rex.typeRegistration("rex", "secret-pw1");
    await joinSent;
    // The join ran: the cluster announced rex; the daemon never heard back.
    await watcher.announced("rex", "joined");
    proxy.mode = "pass";
    const cutAt = Date.now();
    proxy.cutDaemonSide();
    t.is(await rex.line(/^! /, 20_000), REFUSED);
    await rex.loginPrompt();
    // rex is not signed in anywhere: taken off line again, announced left once.
    await watcher.announced("rex", "left", 20_000);
    t.log(`the join whose answer was lost taken back ${Date.now() - cutAt} ms after the cut`);
    t.false((await who(watcher)).includes("rex"), "rex listed online without a session");
    await redisReady(proxied);
    await signInAtPrompt(rex, "rex");
    await watcher.announced("rex", "joined");
    t.is((await who(watcher)).filter((name) => name === "rex").length, 1);
  },
);
