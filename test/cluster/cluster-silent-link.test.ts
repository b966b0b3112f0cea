import fs from "node:fs";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, waitFor } from "../helpers/daemon.ts";
import { register, rpc, who } from "./cluster-helpers.ts";
import { type ProxiedPairContext, proxiedPair } from "./proxied-pair.ts";

/**
 * A link to Redis that goes silent without closing (a frozen middlebox, a pulled cable: no FIN,
 * no RST): the daemon behind it notices on its own within seconds (a command unanswered for 3 s),
 * drops the connection and opens a new one, so a line typed during the cut gets its `! ` line
 * and chat comes back. Real redis-server, real daemons; the daemon under test talks to Redis
 * through a TCP proxy that stops forwarding and closes nothing.
 */
const test = anyTest as TestFn<ProxiedPairContext>;
const { serial, why } = proxiedPair(test);

const DROPPED = /has not answered; dropping the connection and reconnecting/;

function logLines(daemon: RunningDaemon, match: RegExp): string[] {
  const log = fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8");
  return log.split("\n").filter((line) => match.test(line));
}

/** Chat both ways between the two, and each listed once by /who on both daemons. */
async function chatWorks(
  t: { is: (a: unknown, b: unknown, m?: string) => void },
  a: ChatClient,
  b: ChatClient,
  names: [string, string],
  word: string,
) {
  a.send(`${word} from ${names[0]}`);
  await b.line(`<${names[0]}> ${word} from ${names[0]}`, 20_000);
  b.send(`${word} from ${names[1]}`);
  await a.line(`<${names[1]}> ${word} from ${names[1]}`, 20_000);
  for (const client of [a, b]) {
    const listed = await who(client);
    for (const name of names)
      t.is(listed.filter((n) => n === name).length, 1, `${name} in who other than once`);
  }
}

serial(
  `cluster - a link that forgets its connections silently: the daemon notices within seconds, its typist gets a ! line, chat comes back${why}`,
  async (t) => {
    const { direct, proxied, proxy, open } = t.context;
    const watcher = await register(direct, open, "wes");
    const typist = await register(proxied, open, "tia");
    await watcher.announced("tia", "joined");
    typist.send("warm");
    await watcher.line("<tia> warm");
    const before = logLines(proxied, DROPPED).length;
    const accepted = proxy.accepted;
    // A middlebox that forgot the daemon's connections: nothing passes on them, nothing closes them.
    proxy.blackHoleOpen();
    const cutAt = Date.now();
    typist.send("typed during the cut");
    const told = await typist.line(/^! /, 20_000);
    const toldMs = Date.now() - cutAt;
    t.log(`the typist told '${told}' ${toldMs} ms after the cut`);
    t.true(toldMs <= 15_000, `told after ${toldMs} ms`);
    t.true(proxy.accepted > accepted, "the daemon opened no new connection");
    await chatWorks(t, typist, watcher, ["tia", "wes"], "back");
    t.log(`chat back ${Date.now() - cutAt} ms after the cut`);
    const dropped = logLines(proxied, DROPPED).slice(before);
    t.is(dropped.length, 1, `the drop logged other than once: ${dropped.join("\n")}`);
    t.log(dropped[0]);
    t.false(watcher.all.includes("typed during the cut"), "a line refused was delivered");
    t.is((typist.all.match(/^! /gm) ?? []).length, 1, "the typist was told more than once");
  },
);

serial(
  `cluster - a link frozen past the lease, then forwarding again: a ! line for the line typed, the users back, who right${why}`,
  async (t) => {
    const { direct, proxied, proxy, open } = t.context;
    const watcher = await register(direct, open, "wil");
    const typist = await register(proxied, open, "tom");
    await watcher.announced("tom", "joined");
    typist.send("warm");
    await watcher.line("<tom> warm");
    const before = logLines(proxied, DROPPED).length;
    // Nothing passes either way on any connection, old or new, and nothing is closed.
    proxy.mode = "frozen";
    const cutAt = Date.now();
    typist.send("typed while frozen");
    await waitFor(
      () => logLines(proxied, DROPPED).length > before,
      20_000,
      "the daemon to notice the silence",
    );
    const noticedMs = Date.now() - cutAt;
    t.log(`the daemon noticed the silent link ${noticedMs} ms after the cut`);
    // Past the lease: the other daemon declares this one dead.
    await watcher.announced("tom", "left", 20_000);
    proxy.mode = "pass";
    const healedAt = Date.now();
    const told = await typist.line(/^! /, 20_000);
    const toldMs = Date.now() - cutAt;
    t.log(`the typist told '${told}' ${toldMs} ms after the cut`);
    t.true(toldMs <= 20_000, `told after ${toldMs} ms`);
    // The daemon signs its users in again once its heartbeat gets through.
    await watcher.announced("tom", "joined", 20_000);
    await chatWorks(t, typist, watcher, ["tom", "wil"], "again");
    t.log(`chat back ${Date.now() - healedAt} ms after the link forwarded again`);
    t.false(watcher.all.includes("typed while frozen"), "a line refused was delivered");
    t.is((typist.all.match(/^! /gm) ?? []).length, 1, "the typist was told more than once");
    const status = await rpc<{ cluster: { redis: { connected: boolean; fault?: string } } }>(
      proxied,
      "status",
    );
    t.true(status.cluster.redis.connected);
    t.is(status.cluster.redis.fault, undefined);
  },
);

serial(
  `cluster - a line in flight through a Redis stall longer than the wait: told it may not have been sent, and never delivered when Redis wakes${why}`,
  async (t) => {
    const { direct, proxied, open, redis } = t.context;
    const watcher = await register(direct, open, "wyn");
    const typist = await register(proxied, open, "taj");
    await watcher.announced("taj", "joined");
    typist.send("warm");
    await watcher.line("<taj> warm");
    const pid = Number(/process_id:(\d+)/.exec(await redis.cli("info", "server"))?.[1]);
    t.true(pid > 0);
    process.kill(pid, "SIGSTOP");
    const stoppedAt = Date.now();
    try {
      // Into Redis's socket, where it waits for Redis to run it.
      typist.send("typed in the stall");
      t.is(
        await typist.line(/^! /, 30_000),
        "! the chat cannot be reached right now; your line may not have been sent",
      );
      t.log(`the typist told 'may not have been sent' ${Date.now() - stoppedAt} ms after the stall began`);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    // Redis runs what waited in its sockets now; the line is past its deadline and refused there.
    await waitFor(
      async () => {
        typist.send("after the stall");
        return watcher.line("<taj> after the stall", 1000).catch(() => null);
      },
      30_000,
      "chat back after the stall",
    );
    t.false(
      watcher.all.includes("typed in the stall"),
      "a line its author was told may not have been sent was delivered late",
    );
    t.is((typist.all.match(/^! .*may not/gm) ?? []).length, 1);
  },
);
