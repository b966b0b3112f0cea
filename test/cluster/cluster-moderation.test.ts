import anyTest, { type TestFn } from "ava";
import type { BanEntry } from "../../protocol/rpc.ts";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, waitFor } from "../helpers/daemon.ts";
import { register, startNode, type ClusterContext, threeNodeCluster } from "./cluster-helpers.ts";

/**
 * Bans and mutes are the cluster's (cluster.md: the contracts of control.md hold across the
 * daemons): made on one daemon, in force on every other, listed and lifted from any, and a timed
 * one ends everywhere. Three daemons (A, B, C) on one real redis-server, driven by the real tsctl;
 * 127.0.0.2 and 127.0.0.3 are other client addresses on loopback.
 */
const test = anyTest as TestFn<ClusterContext>;
const { serial, why } = threeNodeCluster(test);

/** How long a change may take to reach another daemon on a loaded machine (it takes milliseconds). */
const SPREAD_MS = 20_000;

async function ctl(node: RunningDaemon, args: string[]): Promise<string> {
  const r = await node.tsctl(args);
  if (r.code !== 0) throw new Error(`tsctl ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function bans(node: RunningDaemon): Promise<BanEntry[]> {
  return JSON.parse(await ctl(node, ["bans", "--json"])) as BanEntry[];
}

/** A chat connection to node from localAddress, closed after the test. */
async function from(node: RunningDaemon, localAddress: string, open: ChatClient[]): Promise<ChatClient> {
  const client = await ChatClient.connect(node.chatPort, { localAddress });
  open.push(client);
  return client;
}

/** What a new connection from localAddress gets: "greeted" at the login prompt, or all it was sent before the close. */
async function outcome(node: RunningDaemon, localAddress: string, open: ChatClient[]): Promise<string> {
  const client = await from(node, localAddress, open);
  const answer = await new Promise<string>((resolve) => {
    // ChatClient's own listeners run first, so all and closed are up to date here.
    const check = () => {
      if (/login(?: \[[^\]]*\])?: $/.test(client.all)) resolve("greeted");
      else if (client.closed) resolve(client.all);
    };
    client.socket.on("data", check);
    client.socket.on("close", check);
    check();
  });
  client.close();
  return answer;
}

/** Waits (bounded) until a new connection from localAddress to node gets `expected`. */
async function untilOutcome(
  node: RunningDaemon,
  localAddress: string,
  expected: string | RegExp,
  open: ChatClient[],
): Promise<void> {
  const matches = (got: string) => (typeof expected === "string" ? got === expected : expected.test(got));
  await waitFor(
    async () => matches(await outcome(node, localAddress, open)),
    SPREAD_MS,
    `${localAddress} to get ${JSON.stringify(expected)} from ${node.chatPort}`,
  );
}

/** A sign-in of name on node: "signed in", or all it was sent before the server closed it. */
async function signInOutcome(node: RunningDaemon, name: string, open: ChatClient[]): Promise<string> {
  const client = await from(node, "127.0.0.1", open);
  await client.loginPrompt();
  client.send(name);
  const answer = await new Promise<string>((resolve) => {
    let typed = false;
    const check = () => {
      if (!typed && client.all.endsWith("password: ")) {
        typed = true;
        client.send("secret-pw1");
      } else if (/\r\n\* \d+ online: .*\r\n/.test(client.all)) resolve("signed in");
      else if (client.closed) resolve(client.all);
    };
    client.socket.on("data", check);
    client.socket.on("close", check);
    check();
  });
  client.close();
  return answer;
}

serial(
  `cluster moderation - an address ban made on A: refused before the greeting on B and C, listed on C, kept in Redis; unban on B lifts it everywhere${why}`,
  async (t) => {
    const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
    const { open } = t.context;
    const zed = await from(c, "127.0.0.2", open);
    await zed.register("zed", "secret-pw1");
    // zed is on C: the answer counts the sessions closed on every daemon.
    t.deepEqual(JSON.parse(await ctl(a, ["ban", "127.0.0.2", "spamming", "--json"])), {
      banned: true,
      disconnected: 1,
    });
    const banned = Date.now();
    t.is(await zed.line(/operator/), "* disconnected by the operator: spamming");
    for (const node of [a, b, c]) await untilOutcome(node, "127.0.0.2", "! banned: spamming\r\n", open);
    t.log(`refused on A, B and C ${Date.now() - banned} ms after tsctl ban answered`);
    t.is(await outcome(b, "127.0.0.1", open), "greeted", "another address is still let in");
    t.deepEqual(
      (await bans(c)).map((ban) => [ban.target, ban.reason, ban.until]),
      [["127.0.0.2", "spamming", null]],
    );
    t.is(await t.context.redis.cli("HLEN", "tsd:{tsd}:bans"), "1");

    t.is((await ctl(b, ["unban", "127.0.0.2"])).trim(), "unbanned 127.0.0.2");
    const lifted = Date.now();
    for (const node of [a, b, c]) await untilOutcome(node, "127.0.0.2", "greeted", open);
    t.log(`greeted on A, B and C ${Date.now() - lifted} ms after tsctl unban answered`);
    t.deepEqual(await bans(a), []);
    const again = await c.tsctl(["unban", "127.0.0.2"]);
    t.not(again.code, 0, "lifted on B: not banned on C either");
  },
);

serial(
  `cluster moderation - a name ban made on A refuses the sign-in on B and on a daemon started after it; unban on C${why}`,
  async (t) => {
    const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
    const { open } = t.context;
    (await register(b, open, "nell")).close();
    await ctl(a, ["ban", "nell", "be", "nice"]);
    await waitFor(
      async () => /! banned: be nice\r\n$/.test(await signInOutcome(b, "nell", open)),
      SPREAD_MS,
      "nell's sign-in on B to be refused",
    );
    // A daemon that joins later reads the cluster's bans as it starts.
    const d = await startNode(t.context.redis, "d");
    t.context.nodes.push(d);
    t.regex(await signInOutcome(d, "nell", open), /! banned: be nice\r\n$/);
    await ctl(c, ["unban", "nell"]);
    await waitFor(
      async () => (await signInOutcome(b, "nell", open)) === "signed in",
      SPREAD_MS,
      "nell to sign in on B again",
    );
    t.is(await signInOutcome(d, "nell", open), "signed in");
  },
);

serial(`cluster moderation - a mute made on B holds for the user on C; unmute on A${why}`, async (t) => {
  const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
  const { open } = t.context;
  const mia = await register(c, open, "mia");
  const wes = await register(a, open, "wes");
  await mia.announced("wes", "joined");
  const mutedAnswers = () => mia.all.split("! you are muted").length - 1;
  /** mia says line: "muted" when she is answered so, "heard" when wes gets it; bounded. */
  const say = (line: string, heard: string): Promise<"muted" | "heard"> => {
    const before = mutedAnswers();
    mia.send(line);
    return waitFor(
      () => (mutedAnswers() > before ? "muted" : wes.all.includes(`${heard}\r\n`) ? "heard" : null),
      15_000,
      `an answer to mia's ${line}`,
    );
  };
  let tries = 0;
  const speak = () => {
    const text = `try ${++tries}`;
    return say(text, `<mia> ${text}`);
  };
  t.deepEqual(JSON.parse(await ctl(b, ["mute", "mia", "--json"])), { muted: true, until: null });
  const muted = Date.now();
  await waitFor(async () => (await speak()) === "muted", SPREAD_MS, "the mute to reach C");
  t.log(`muted on C ${Date.now() - muted} ms after tsctl mute answered on B (${tries} tries)`);
  t.is(await say("/me waves", "* mia waves"), "muted");
  t.is(await say("/msg wes psst", "psst"), "muted");
  t.deepEqual(JSON.parse(await ctl(a, ["unmute", "mia", "--json"])), { muted: false });
  await waitFor(async () => (await speak()) === "heard", SPREAD_MS, "the unmute to reach C");
  t.false(/waves|psst/.test(wes.all), "wes got a muted line");
});

serial(`cluster moderation - a timed ban made on C ends by itself on every daemon${why}`, async (t) => {
  const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
  const { open } = t.context;
  // Long enough that every daemon is seen refusing it first, even on a loaded machine.
  await ctl(c, ["ban", "127.0.0.3", "--for", "25s"]);
  const [listed] = await bans(a);
  t.is(listed?.target, "127.0.0.3");
  const until = Date.parse(listed?.until ?? "");
  for (const node of [a, b, c]) await untilOutcome(node, "127.0.0.3", /^! banned \(until [^)]+\)\r\n$/, open);
  t.true(Date.now() < until, "the refusals were seen while the ban held");
  for (const node of [a, b, c])
    await waitFor(
      async () => (await outcome(node, "127.0.0.3", open)) === "greeted",
      until - Date.now() + SPREAD_MS,
      "the ban to end",
    );
  t.true(Date.now() >= until - 1000, "greeted before the ban's end");
  for (const node of [a, b, c]) t.deepEqual(await bans(node), []);
});

serial(
  `cluster moderation - a change that reached Redis without its stream event is picked up by the version check${why}`,
  async (t) => {
    const [a, b] = t.context.nodes as [RunningDaemon, RunningDaemon];
    const { open } = t.context;
    // As a daemon that fell more than the stream's length behind sees it: the hash and the version moved, no event read.
    const record = JSON.stringify({
      target: "127.0.0.4",
      reason: "quiet",
      createdAt: Date.now(),
      until: null,
    });
    await t.context.redis.cli("HSET", "tsd:{tsd}:bans", "a 127.0.0.4", record);
    await t.context.redis.cli("INCR", "tsd:{tsd}:moderation-version");
    const written = Date.now();
    for (const node of [a, b]) await untilOutcome(node, "127.0.0.4", "! banned: quiet\r\n", open);
    t.log(`refused ${Date.now() - written} ms after the version moved (checked every 5 s)`);
    t.deepEqual(
      (await bans(b)).map((ban) => ban.target),
      ["127.0.0.4"],
    );
    await ctl(a, ["unban", "127.0.0.4"]);
    for (const node of [a, b]) await untilOutcome(node, "127.0.0.4", "greeted", open);
    t.deepEqual(await bans(b), []);
  },
);
