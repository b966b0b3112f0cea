import fs from "node:fs";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, waitFor } from "../helpers/daemon.ts";
import { register, rpc } from "./cluster-helpers.ts";
import { type ProxiedPairContext, proxiedPair } from "./proxied-pair.ts";

/**
 * A chat line whose connection to Redis is lost while it is in flight: its author is told it was
 * not sent only if it never reaches the stream, and then it never does (not even when the lost
 * bytes reach Redis late); a line that did reach the stream is delivered and its author is told
 * nothing. Real redis-server, real daemons; the daemon under test talks to Redis through a TCP
 * proxy that can lose the answers, hold the requests, and cut the connections.
 */
const test = anyTest as TestFn<ProxiedPairContext>;
const { serial, why } = proxiedPair(test);

/** The proxied daemon's last log line about an outcome found (how long asking Redis took), for the test's log. */
function outcomeLogged(daemon: RunningDaemon): string {
  const log = fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8");
  return log.match(/^.*outcome found.*$/gm)?.pop() ?? "(none logged)";
}

/**
 * Once the proxied daemon has connected to Redis again (a new connection through the proxy, and
 * status says connected), a line of the sender's reaches the watcher; resolves with the ms since
 * the cut.
 */
async function backAfterCut(
  t: { context: ProxiedPairContext },
  accepted: number,
  sender: ChatClient,
  watcher: ChatClient,
  name: string,
): Promise<number> {
  const { proxy, proxied } = t.context;
  const cutAt = Date.now();
  await waitFor(() => proxy.accepted > accepted, 20_000, "the proxied daemon to connect again");
  await waitFor(
    async () =>
      (await rpc<{ cluster: { redis: { connected: boolean } } }>(proxied, "status")).cluster.redis.connected,
    20_000,
    "the proxied daemon's Redis connection to be ready",
  );
  sender.send("after the cut");
  await watcher.line(`<${name}> after the cut`, 20_000);
  return Date.now() - cutAt;
}

serial(
  `cluster - a line that reached Redis before its answer was lost is delivered, its author told nothing${why}`,
  async (t) => {
    const { direct, proxied, proxy, open } = t.context;
    const watcher = await register(direct, open, "wendy");
    const sender = await register(proxied, open, "sam");
    await watcher.announced("sam", "joined");
    // Redis knows the publishing script by now (a first EVALSHA's NOSCRIPT answer would be lost too).
    sender.send("warm");
    await watcher.line("<sam> warm");
    proxy.mode = "lose-answers";
    sender.send("landed but unanswered");
    // It reached the stream: the watcher's daemon reads it from Redis directly.
    await watcher.line("<sam> landed but unanswered");
    proxy.mode = "pass";
    const accepted = proxy.accepted;
    proxy.cutDaemonSide();
    const back = await backAfterCut(t, accepted, sender, watcher, "sam");
    t.log(`chat back ${back} ms after the cut`);
    t.log(outcomeLogged(proxied));
    // Whatever the sender was told about its lines is in by now: it sees the answer to /who after it.
    sender.send("/who");
    await sender.line(/^\* \d+ online: /);
    t.false(/^! /m.test(sender.all), `the author was told: ${sender.all.match(/^! .*$/m)?.[0]}`);
    t.is((watcher.all.match(/<sam> landed but unanswered/g) ?? []).length, 1, "delivered other than once");
  },
);

serial(
  `cluster - a private message that reached Redis before its answer was lost: received, its sender not told it failed${why}`,
  async (t) => {
    const { direct, proxied, proxy, open } = t.context;
    const receiver = await register(direct, open, "wanda");
    const sender = await register(proxied, open, "seb");
    await receiver.announced("seb", "joined");
    sender.send("/msg wanda warm");
    await receiver.line("*seb* warm");
    await sender.line("-> *wanda* warm");
    // The answers are lost from the message's own command on (its recipient's look-up is answered).
    const published = proxy.when("landed but unanswered", "lose-answers");
    sender.send("/msg wanda landed but unanswered");
    await published;
    await receiver.line("*seb* landed but unanswered");
    proxy.mode = "pass";
    const accepted = proxy.accepted;
    proxy.cutDaemonSide();
    // The sender's copy once Redis has said the message is on the stream, never a refusal.
    t.is(await sender.line(/^(! |-> )/, 20_000), "-> *wanda* landed but unanswered");
    await backAfterCut(t, accepted, sender, receiver, "seb");
    t.false(/^! /m.test(sender.all), `the sender was told: ${sender.all.match(/^! .*$/m)?.[0]}`);
    t.is((receiver.all.match(/\*seb\* landed but unanswered/g) ?? []).length, 1, "received other than once");
  },
);

serial(
  `cluster - a line cut off in flight while Redis stays away past the wait: its author told it may not have been sent${why}`,
  async (t) => {
    const { direct, proxied, proxy, open } = t.context;
    const watcher = await register(direct, open, "wim");
    const sender = await register(proxied, open, "sal");
    await watcher.announced("sal", "joined");
    sender.send("warm");
    await watcher.line("<sal> warm");
    const published = proxy.when("lost for long", "lose-answers");
    sender.send("lost for long");
    await published;
    await watcher.line("<sal> lost for long");
    // Redis stays out of the daemon's reach for longer than it waits for an answer.
    proxy.refusing = true;
    proxy.mode = "pass";
    const cutAt = Date.now();
    proxy.cutDaemonSide();
    t.is(
      await sender.line(/^! /, 30_000),
      "! the chat cannot be reached right now; your line may not have been sent",
    );
    t.log(`the author told 'may not have been sent' ${Date.now() - cutAt} ms after the cut`);
    const accepted = proxy.accepted;
    proxy.refusing = false;
    await backAfterCut(t, accepted, sender, watcher, "sal");
    t.is((sender.all.match(/^! /gm) ?? []).length, 1, `the author was told more than once: ${sender.all}`);
  },
);

serial(
  `cluster - a line cut off before it reached Redis is refused, and never delivered when its bytes arrive late${why}`,
  async (t) => {
    const { direct, proxied, proxy, open } = t.context;
    const watcher = await register(direct, open, "walt");
    const sender = await register(proxied, open, "sue");
    await watcher.announced("sue", "joined");
    sender.send("warm");
    await watcher.line("<sue> warm");
    proxy.mode = "hold-requests";
    sender.send("held back");
    await waitFor(() => proxy.holds("held back"), 10_000, "the line to reach the proxy");
    proxy.mode = "pass";
    const cutAt = Date.now();
    const accepted = proxy.accepted;
    proxy.cutDaemonSide();
    t.regex(
      await sender.line(/^! /, 20_000),
      /^! the chat cannot be reached right now; your line was not sent$/,
    );
    t.log(`the author told 'not sent' ${Date.now() - cutAt} ms after the cut`);
    t.log(outcomeLogged(proxied));
    // The held request reaches Redis now, after the daemon has asked what became of it.
    await proxy.release();
    await backAfterCut(t, accepted, sender, watcher, "sue");
    t.false(watcher.all.includes("<sue> held back"), "a line refused as not sent was delivered");
    t.is((sender.all.match(/^! /gm) ?? []).length, 1, "the author was told more than once");
  },
);

serial(
  `cluster - an announcement cut off in flight after it reached Redis: tsctl says it may have been done${why}`,
  async (t) => {
    const { direct, proxied, proxy, open } = t.context;
    const watcher = await register(direct, open, "wade");
    // Redis runs it, its answer is lost, then the daemon's connections are cut.
    const published = proxy.when("announced but unanswered", "lose-answers");
    const asked = proxied.tsctl(["announce", "announced but unanswered"]);
    await published;
    await watcher.line("* server: announced but unanswered");
    proxy.mode = "pass";
    proxy.cutDaemonSide();
    const said = await asked;
    t.is(said.code, 1);
    t.regex(
      said.stderr,
      /^tsctl: the cluster's Redis cannot be reached \(redis:\/\/127\.0\.0\.1:\d+\): connection closed; what was asked may have been done\n$/,
    );
  },
);
