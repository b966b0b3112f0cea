import anyTest, { type TestFn } from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, spawnDaemon, waitFor } from "../helpers/daemon.ts";
import {
  connect,
  freePort,
  register,
  rpc,
  startNode,
  who,
  type ClusterContext,
  threeNodeCluster,
} from "./cluster-helpers.ts";
import { CuttingProxy } from "./cutting-proxy.ts";
import { timesAnnounced } from "./notices.ts";

/**
 * cluster.md's faults with their bounds, against a real redis-server and three real daemons:
 * Redis restarted (shutdown nosave) and its connections killed mid-chat, Redis stalled past the
 * lease (DEBUG SLEEP), a daemon paused past its lease, a daemon's process group killed. The
 * measured times go to the test's log (t.log) for docs/cluster.md.
 */
const test = anyTest as TestFn<ClusterContext>;
const { serial, why } = threeNodeCluster(test);

/** Lines from `from` that `to` received, and `! ` lines `from` got, while probes were sent until stop(). */
interface ProbeRun {
  sent: number;
  /** Told "your line was not sent". */
  refused: number;
  /** Told "your line may not have been sent" (Redis did not answer within the daemon's wait). */
  unknown: number;
  delivered: string[];
  /** ms from go() to the first probe delivered after it. */
  firstAfter: Promise<number>;
  go(): void;
  stop(): Promise<void>;
}

/**
 * Sends a numbered probe line from `from` every 100 ms, and counts what `to` receives and what
 * `from` is refused with. Each probe is either delivered once or refused, never both, never twice.
 */
function probe(from: ChatClient, to: ChatClient, tag: string): ProbeRun {
  let stopped = false;
  let goAt = 0;
  let gone = false;
  const first = Promise.withResolvers<number>();
  const run: ProbeRun = {
    sent: 0,
    refused: 0,
    unknown: 0,
    delivered: [],
    firstAfter: first.promise,
    go: () => {
      goAt = Date.now();
      gone = true;
    },
    stop: async () => {
      stopped = true;
      await sending;
      // Whatever is still on its way arrives within this (generous) time, or never.
      const deadline = Date.now() + 5000;
      while (run.delivered.length + run.refused + run.unknown < run.sent && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));
      stopReading = true;
    },
  };
  let stopReading = false;
  const sending = (async () => {
    while (!stopped) {
      from.send(`${tag} ${run.sent}`);
      run.sent++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  void (async () => {
    while (!stopReading) {
      const line = await to.line(new RegExp(`^<\\w+> ${tag} \\d+$`), 1000).catch(() => null);
      if (line === null) continue;
      run.delivered.push(line);
      if (gone) first.resolve(Date.now() - goAt);
    }
  })();
  void (async () => {
    while (!stopReading) {
      const line = await from.line(/^! the chat cannot be reached/, 1000).catch(() => null);
      if (line?.endsWith("your line was not sent")) run.refused++;
      else if (line !== null) run.unknown++;
    }
  })();
  return run;
}

function checkProbes(t: { is: (a: unknown, b: unknown, m?: string) => void }, run: ProbeRun): void {
  t.is(new Set(run.delivered).size, run.delivered.length, "a probe delivered twice");
  const numbers = run.delivered.map((line) => Number(line.split(" ").pop()));
  t.is(JSON.stringify(numbers), JSON.stringify([...numbers].sort((x, y) => x - y)), "probes out of order");
  t.is(run.unknown, 0, "a probe's outcome unknown although Redis answered again");
  t.is(run.delivered.length + run.refused, run.sent, "each probe either delivered once or refused");
}

serial(
  `cluster - Redis shut down (nosave) and restarted mid-chat: outage lines refused, back within 5 s${why}`,
  async (t) => {
    const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
    const { open, redis } = t.context;
    const alice = await register(a, open, "alice");
    const bob = await register(b, open, "bob");
    const carl = await register(c, open, "carl");
    await alice.announced("carl", "joined");
    alice.send("before the outage");
    await bob.line("<alice> before the outage");
    const run = probe(alice, bob, "probe");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await redis.shutdown();
    const sentBeforeShutdown = run.sent;
    // During the outage: chat lines refused (counted by the probe), a sign-in refused politely,
    // and carl leaves.
    await waitFor(() => run.refused > 0, 10_000, "a chat line refused during the outage");
    const newcomer = await connect(c, open);
    await newcomer.loginPrompt();
    newcomer.send("alice");
    t.regex(await newcomer.line(/^! /), /^! accounts are unavailable right now/);
    carl.close();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const sentBeforeRestart = run.sent;
    await redis.start();
    const restartedAt = Date.now();
    run.go();
    const back = await run.firstAfter;
    t.log(`chat back ${back} ms after Redis accepted connections again`);
    t.true(back <= 5000, `chat back after ${back} ms`);
    await run.stop();
    // Never delivered late: no line sent while Redis was down arrives after it came back.
    const late = run.delivered
      .map((line) => Number(line.split(" ").pop()))
      .filter((n) => n >= sentBeforeShutdown && n < sentBeforeRestart);
    t.deepEqual(late, [], "lines sent during the outage delivered after it");
    // A line in flight at the shutdown (Redis may have run it and kept it in its AOF, its answer
    // lost) is told nothing until its outcome is known after the restart: refused only if it
    // never reached the stream. Every probe is delivered once or refused, never both.
    checkProbes(t, run);
    t.true(run.refused > 0, "no line was refused during the outage");
    // Nobody who stayed had to sign in again; within 5 s who is right: carl, who left during the
    // outage, is gone (his leave is told once Redis is back), alice and bob are there once.
    const listed = (names: string[]) => names.filter((n) => ["alice", "bob", "carl"].includes(n)).join(",");
    await waitFor(
      async () => listed(await who(bob)) === "alice,bob",
      Math.max(1000, 5000 - (Date.now() - restartedAt)),
      "who without carl within 5 s of the restart",
    );
    t.log(`who right ${Date.now() - restartedAt} ms after the restart`);
    // Accounts and history survived the restart (AOF).
    const history: string[] = [];
    bob.send("/history");
    for (;;) {
      const line = await bob.line(/^(\[|\* end of history$)/);
      if (line === "* end of history") break;
      history.push(line);
    }
    t.true(history.some((line) => line.endsWith("<alice> before the outage")));
    const accounts = await rpc<{ name: string }[]>(c, "identities.list");
    t.true(accounts.some((acc) => acc.name === "carl"));
    for (const node of t.context.nodes) t.is(node.proc.exitCode, null, "a daemon exited");
  },
);

serial(
  `cluster - CLIENT KILL of every tsd connection: nobody signs in again, chat back within 5 s${why}`,
  async (t) => {
    const [a, b] = t.context.nodes as [RunningDaemon, RunningDaemon];
    const { open, redis } = t.context;
    const dora = await register(a, open, "dora");
    const eric = await register(b, open, "eric");
    await dora.announced("eric", "joined");
    const run = probe(dora, eric, "kill-probe");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const killed = Number(await redis.cli("CLIENT", "KILL", "TYPE", "normal"));
    t.true(killed >= 6, `killed ${killed} connections`);
    run.go();
    const back = await run.firstAfter;
    t.log(`chat back ${back} ms after CLIENT KILL`);
    t.true(back <= 5000, `chat back after ${back} ms`);
    await run.stop();
    checkProbes(t, run);
    const names = await who(eric);
    t.is(names.filter((n) => n === "dora").length, 1);
    for (const node of t.context.nodes) t.is(node.proc.exitCode, null, "a daemon exited");
  },
);

serial(`cluster - Redis stalled past the lease (DEBUG SLEEP): nobody is declared dead${why}`, async (t) => {
  const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
  const { open, redis } = t.context;
  const fay = await register(a, open, "fay");
  const gus = await register(c, open, "gus");
  await fay.announced("gus", "joined");
  await redis.cli("DEBUG", "SLEEP", "8");
  // A stall is handled as a silent link (the connections dropped after 3 s), so a daemon may still
  // be connecting again when Redis answers: a line then gets `! ... not sent`. Chat must work again
  // within cluster.md's 5 s; tried every half second, for a generous 20 s on a busy machine.
  const wokeAt = Date.now();
  let n = 0;
  await waitFor(
    async () => {
      fay.send(`after the stall ${n++}`);
      return gus.line(/^<fay> after the stall \d+$/, 500).catch(() => null);
    },
    20_000,
    "chat back after the stall",
  );
  t.log(`chat back ${Date.now() - wokeAt} ms after Redis woke`);
  // Two more beats: a reaping would have happened by now.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  t.is(
    timesAnnounced(fay.all, "gus", "left") + timesAnnounced(gus.all, "fay", "left"),
    0,
    "a user was announced left after a stall",
  );
  const status = await rpc<{ cluster: { nodes: { id: string }[] } }>(b, "status");
  t.deepEqual(status.cluster.nodes.map((n) => n.id).sort(), ["a", "b", "c"]);
});

serial(
  `cluster - a daemon paused past its lease: its users left once, then back as joined${why}`,
  async (t) => {
    const [a, , c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
    const { open } = t.context;
    const hal = await register(a, open, "hal");
    await register(c, open, "ivy");
    await hal.announced("ivy", "joined");
    const pgid = c.proc.pid!;
    const stoppedAt = Date.now();
    process.kill(-pgid, "SIGSTOP");
    try {
      await hal.announced("ivy", "left", 20_000);
      t.log(`a paused daemon's user announced left after ${Date.now() - stoppedAt} ms`);
      t.false((await who(hal)).includes("ivy"));
    } finally {
      process.kill(-pgid, "SIGCONT");
    }
    await hal.announced("ivy", "joined", 20_000);
    const names = await who(hal);
    t.is(names.filter((n) => n === "ivy").length, 1);
    t.is(timesAnnounced(hal.all, "ivy", "left"), 1, "ivy announced left other than once");
  },
);

serial(`cluster - a second daemon with a live daemon's --node-id is refused at start${why}`, async (t) => {
  const daemon = spawnDaemon(["--hub", "redis", "--redis-url", t.context.redis.url, "--node-id", "a"]);
  t.teardown(() => daemon.cleanup());
  t.is((await daemon.exited).code, 1);
  t.regex(daemon.stderr(), /the node id a is held by a live daemon of the cluster tsd/);
});

serial(`cluster - a daemon cut off from Redis for good: its users left once within 10 s${why}`, async (t) => {
  const [a, b] = t.context.nodes as [RunningDaemon, RunningDaemon];
  const { open, redis } = t.context;
  const proxy = new CuttingProxy(redis.port);
  await proxy.listen();
  const cut = await startNode(proxy, "cut");
  t.teardown(async () => {
    proxy.close();
    await cut.cleanup();
  });
  const watcher = await register(a, open, "nia");
  const other = await register(b, open, "oli");
  await register(cut, open, "pia");
  await watcher.announced("pia", "joined");
  await other.announced("pia", "joined");
  const cutAt = Date.now();
  proxy.mode = "frozen";
  await watcher.announced("pia", "left", 20_000);
  const elapsed = Date.now() - cutAt;
  t.log(`a cut-off daemon's user announced left after ${elapsed} ms`);
  t.true(elapsed <= 10_000, `announced after ${elapsed} ms`);
  await other.announced("pia", "left", 20_000);
  t.false((await who(other)).includes("pia"));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.is(timesAnnounced(watcher.all, "pia", "left"), 1, "pia announced left other than once");
});

serial(
  `cluster - a daemon's process group killed (kill -9): its users left once within 10 s, names free${why}`,
  async (t) => {
    const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
    const { open } = t.context;
    const jon = await register(a, open, "jon");
    const kim = await register(b, open, "kim");
    await register(c, open, "lou");
    await register(c, open, "max");
    await jon.announced("max", "joined");
    await kim.announced("max", "joined");
    const killedAt = Date.now();
    process.kill(-c.proc.pid!, "SIGKILL");
    for (const watcher of [jon, kim])
      await waitFor(
        () =>
          timesAnnounced(watcher.all, "lou", "left") > 0 && timesAnnounced(watcher.all, "max", "left") > 0,
        20_000,
        "lou and max announced left",
      );
    const elapsed = Date.now() - killedAt;
    t.log(`users of a killed daemon announced left after ${elapsed} ms`);
    t.true(elapsed <= 10_000, `announced after ${elapsed} ms`);
    // The names sign in on another daemon at once, and who lists each once.
    const lou = await connect(b, open);
    await lou.signIn("lou", "secret-pw1");
    await jon.announced("lou", "joined");
    const names = await who(jon);
    t.is(names.filter((n) => n === "lou").length, 1);
    t.false(names.includes("max"));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    t.is(timesAnnounced(jon.all, "max", "left"), 1, "max announced left other than once");
  },
);

serial(
  `cluster - Redis unreachable at start: exit 1 with one sentence naming the URL, no password${why}`,
  async (t) => {
    const port = await freePort();
    const daemon = spawnDaemon([
      "--hub",
      "redis",
      "--redis-url",
      `redis://:hunter2@127.0.0.1:${port}`,
      "--redis-connect-timeout",
      "2",
    ]);
    t.teardown(() => daemon.cleanup());
    const { code } = await daemon.exited;
    t.is(code, 1);
    const said = daemon.stderr() + daemon.stdout();
    t.regex(said, new RegExp(`cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
    t.false(said.includes("hunter2"));
  },
);
