import fs from "node:fs";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { STREAM_MAXLEN } from "../../daemon/primary/cluster/cluster-limits.ts";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, waitFor } from "../helpers/daemon.ts";
import { logOf, register, startNode, type TestRedis } from "./cluster-helpers.ts";
import { daemonPair, type PairContext } from "./daemon-pair.ts";
import { EVENTS, FILL, FILLER } from "./stream-fill.ts";

/**
 * spec/cluster.md: every chat line reaches every signed-in user on every daemon exactly once. The
 * cluster's one stream is trimmed to about STREAM_MAXLEN entries; a daemon whose reader falls
 * further behind than that cannot have the trimmed lines, but must not lose them silently: its
 * users are told once, its log says how many, and chat goes on. A real redis-server, two real
 * daemons; the behind one is paused (SIGSTOP of its process group, well within its lease) while
 * more than STREAM_MAXLEN events go onto the stream.
 */
const test = anyTest as TestFn<PairContext>;
const { serial, why } = daemonPair(test);

const FELL_BEHIND = /^! this server fell behind the chat and missed some lines$/;
const GAP_LOGGED = /^.*fell behind the stream's trim.*$/gm;

/** XINFO STREAM's entries-added and length. */
async function streamCounts(redis: TestRedis): Promise<{ added: number; length: number }> {
  const fields = (await redis.cli("XINFO", "STREAM", EVENTS)).split("\n");
  const value = (name: string) => Number(fields[fields.indexOf(name) + 1]);
  return { added: value("entries-added"), length: value("length") };
}

/**
 * `count` filler events in chunks, each followed by a marker line that `watcher` (on a daemon
 * that runs) must read before the next chunk: that daemon's reader is never a whole trim behind.
 */
async function fill(redis: TestRedis, count: number, chunk: number, watcher: ChatClient): Promise<void> {
  for (let done = 0, mark = 0; done < count; done += chunk, mark++) {
    const n = Math.min(chunk, count - done);
    await redis.cli("EVAL", FILL, "1", EVENTS, String(n), String(STREAM_MAXLEN), FILLER);
    const marker = JSON.stringify({ t: "line", line: `* filled ${mark}\r\n` });
    await redis.cli("XADD", EVENTS, "MAXLEN", "~", String(STREAM_MAXLEN), "*", "e", marker);
    await watcher.line(`* filled ${mark}`, 30_000);
  }
}

function gapsLogged(daemon: RunningDaemon): string[] {
  return fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8").match(GAP_LOGGED) ?? [];
}

serial(
  `cluster - a daemon whose reader falls behind the stream's trim tells its users once and logs it; chat goes on${why}`,
  async (t) => {
    const { a, b, open, redis } = t.context;
    const amy = await register(a, open, "amy");
    const bea = await register(a, open, "bea");
    const zed = await register(b, open, "zed");
    const yan = await register(b, open, "yan");
    await amy.announced("yan", "joined");
    amy.send("before the pause");
    await zed.line("<amy> before the pause");
    await yan.line("<amy> before the pause");

    const pgid = b.proc.pid!;
    const stoppedAt = Date.now();
    process.kill(-pgid, "SIGSTOP");
    let expectedMissed: number;
    try {
      // The first event answers b's pending read (it waits in b's socket); what follows is lost.
      await fill(redis, 1, 1, amy);
      // The filler's place in the stream (its marker came after it).
      const pausedAt = (await streamCounts(redis)).added - 1;
      amy.send("typed while b was paused");
      await bea.line("<amy> typed while b was paused");
      await fill(redis, STREAM_MAXLEN + 5000, 5000, amy);
      const after = await streamCounts(redis);
      expectedMissed = after.added - after.length - pausedAt;
    } finally {
      process.kill(-pgid, "SIGCONT");
    }
    t.log(`b paused for ${Date.now() - stoppedAt} ms; ${expectedMissed} events trimmed past its cursor`);

    await zed.line(FELL_BEHIND, 30_000);
    await yan.line(FELL_BEHIND, 30_000);
    const logged = await waitFor(() => gapsLogged(b)[0], 15_000, "the gap logged");
    t.log(logged);
    t.regex(logged, /error/i);
    // One read more from a cursor just before the pause when b was stopped between reads.
    const missed = Number(/missed\W+(\d+)/.exec(logged)?.[1]);
    t.true(
      missed === expectedMissed || missed === expectedMissed + 1,
      `logged ${missed}, expected ${expectedMissed}`,
    );

    // Chat goes on both ways.
    amy.send("after the gap");
    await zed.line("<amy> after the gap");
    await yan.line("<amy> after the gap");
    zed.send("zed is back");
    await amy.line("<zed> zed is back");
    await bea.line("<zed> zed is back");

    for (const client of [zed, yan]) t.is(client.all.match(/^! this server fell behind/gm)?.length, 1);
    for (const client of [amy, bea])
      t.false(client.all.includes("fell behind"), "a daemon that kept up told its users");
    t.false(zed.all.includes("typed while b was paused"));
    t.is(gapsLogged(b).length, 1, logOf(b));
    t.is(gapsLogged(a).length, 0, logOf(a));
  },
);

/** How many XINFO commands Redis has run (INFO commandstats). */
async function xinfoCalls(redis: TestRedis): Promise<number> {
  const stats = await redis.cli("INFO", "commandstats");
  return Number(
    /^cmdstat_xinfo\|stream:calls=(\d+)/m.exec(stats)?.[1] ??
      /^cmdstat_xinfo:calls=(\d+)/m.exec(stats)?.[1] ??
      0,
  );
}

serial(`cluster - readers that keep up ask Redis nothing more than their reads${why}`, async (t) => {
  const { a, b, open, redis } = t.context;
  const cal = await register(a, open, "cal");
  const dot = await register(b, open, "dot");
  await cal.announced("dot", "joined");
  const before = await xinfoCalls(redis);
  const lines = 300;
  for (let i = 0; i < lines; i++) cal.send(`line ${i}`);
  await dot.line(`<cal> line ${lines - 1}`, 30_000);
  const asked = (await xinfoCalls(redis)) - before;
  t.log(`${lines} lines read by 2 daemons: ${asked} XINFO STREAM`);
  // A reader whose connection was replaced meanwhile (a loaded machine) asks once.
  t.true(asked <= 2, `${asked} XINFO STREAM`);
});

serial(
  `cluster - more than a trim's worth of events in one command: a running daemon says exactly how many it missed${why}`,
  async (t) => {
    const { open, redis } = t.context;
    const c = await startNode(redis, "c");
    t.teardown(() => c.cleanup());
    const eve = await register(c, open, "eve");
    // eve's daemon has read up to here: its cursor is the marker, the stream's last entry.
    await redis.cli("XADD", EVENTS, "*", "e", JSON.stringify({ t: "line", line: "* caught up\r\n" }));
    await eve.line("* caught up");
    const before = (await streamCounts(redis)).added;
    await redis.cli("EVAL", FILL, "1", EVENTS, String(STREAM_MAXLEN + 5000), String(STREAM_MAXLEN), FILLER);
    const after = await streamCounts(redis);
    const expected = after.added - after.length - before;
    await eve.line(FELL_BEHIND, 30_000);
    const logged = await waitFor(() => gapsLogged(c)[0], 15_000, "the gap logged");
    t.log(logged);
    t.is(Number(/missed\W+(\d+)/.exec(logged)?.[1]), expected);
  },
);

/** Redis's id of the daemon's connection for role (CLIENT LIST, by the name the daemon gives it). */
async function connectionId(redis: TestRedis, node: string, role: string): Promise<string> {
  const list = await redis.cli("CLIENT", "LIST");
  const line = list.split("\n").find((l) => l.includes(` name=tsd-${node}-${role} `));
  const id = line && /^id=(\d+)/.exec(line)?.[1];
  if (!id) throw new Error(`no ${role} connection of ${node} in CLIENT LIST:\n${list}`);
  return id;
}

serial(
  `cluster - a gap found while the daemon's commands connection is down (it paused; Redis dropped it) is still told: the reader asks on its own connection${why}`,
  async (t) => {
    const { open, redis } = t.context;
    const [d, e] = await Promise.all([startNode(redis, "d"), startNode(redis, "e")]);
    t.teardown(() => Promise.all([d.cleanup(), e.cleanup()]));
    const fay = await register(d, open, "fay");
    const gus = await register(e, open, "gus");
    await fay.announced("gus", "joined");
    const commands = await connectionId(redis, "e", "commands");
    const pgid = e.proc.pid!;
    process.kill(-pgid, "SIGSTOP");
    try {
      await fill(redis, 1, 1, fay);
      await fill(redis, STREAM_MAXLEN + 5000, 5000, fay);
      await redis.cli("CLIENT", "KILL", "ID", commands);
    } finally {
      process.kill(-pgid, "SIGCONT");
    }
    await gus.line(FELL_BEHIND, 30_000);
    const logged = await waitFor(() => gapsLogged(e)[0], 15_000, "the gap logged");
    t.log(logged);
    t.regex(logged, /missed\W+\d+/);
  },
);
