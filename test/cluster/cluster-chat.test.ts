import fs from "node:fs";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { IdentityStore } from "../../daemon/shared/identity-store.ts";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, spawnDaemon, tempDir, waitFor } from "../helpers/daemon.ts";
import {
  connect,
  register,
  rpc,
  signIn,
  who,
  type ClusterContext,
  threeNodeCluster,
} from "./cluster-helpers.ts";
import { timesAnnounced } from "./notices.ts";

/**
 * cluster.md's "what users see" across three daemons (A, B, C) on one real redis-server:
 * accounts, one total order of chat lines, /who, /msg, /history, takeover, and the operator's
 * view (status, users.list, kick, announce, identities) from any daemon.
 */
const test = anyTest as TestFn<ClusterContext>;
const { serial, why } = threeNodeCluster(test);

serial(`cluster - an account made on A signs in on B; /passwd on A holds on C${why}`, async (t) => {
  const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
  const { open } = t.context;
  const onA = await register(a, open, "ann", "first-pw1");
  const onB = await connect(b, open);
  await onB.signIn("ann", "first-pw1");
  t.regex(onB.all, /\* welcome back, ann/);
  t.is(await onA.line(/elsewhere/), "* signed in from elsewhere");
  // A takeover across daemons: nobody is told (no leave, no join).
  const wally = await register(c, open, "wally");
  onB.send("still ann");
  await wally.line("<ann> still ann");
  t.false(/ann (left|joined)/.test(wally.all), "a takeover was announced");
  const again = await signIn(a, open, "ann", "first-pw1");
  again.send("/passwd");
  await again.prompt("password: ");
  again.send("first-pw1");
  await again.prompt("new password: ");
  again.send("second-pw2");
  await again.prompt("repeat password: ");
  again.send("second-pw2");
  await again.line(/password (is )?changed/);
  const onC = await connect(c, open);
  await onC.loginPrompt();
  onC.send("ann");
  await onC.prompt("password: ");
  onC.send("first-pw1");
  await onC.line(/wrong password/);
  await onC.loginPrompt();
  onC.send("ann");
  await onC.prompt("password: ");
  onC.send("second-pw2");
  await onC.line("* welcome back, ann");
});

serial(`cluster - one name registered at once on two daemons: exactly one succeeds${why}`, async (t) => {
  const [a, b] = t.context.nodes as [RunningDaemon, RunningDaemon];
  const { open } = t.context;
  for (let round = 0; round < 3; round++) {
    const name = `race${round}`;
    const one = await connect(a, open);
    const two = await connect(b, open);
    // Both dialogues up to the repeated password, then both sent in the same turn.
    for (const client of [one, two]) {
      await client.loginPrompt();
      client.send(name);
      await client.prompt("new password: ");
      client.send("race-pw-1");
      await client.prompt("repeat password: ");
    }
    one.send("race-pw-1");
    two.send("race-pw-1");
    const outcomes = await Promise.all(
      [one, two].map((client) =>
        client
          .line(/^(\* registered |! the name .* (was just taken|is in use))/)
          .then((line) => ({ client, line })),
      ),
    );
    const won = outcomes.filter((o) => o.line.startsWith("* registered "));
    t.is(won.length, 1, JSON.stringify(outcomes.map((o) => o.line)));
    const lost = outcomes.find((o) => !o.line.startsWith("* registered "))!;
    await lost.client.loginPrompt();
  }
  const accounts = await rpc<{ name: string }[]>(a, "identities.list");
  t.is(accounts.filter((acc) => acc.name.startsWith("race")).length, 3);
});

serial(
  `cluster - 3 senders x 300 lines on 3 daemons: each once, in one order on every daemon${why}`,
  async (t) => {
    const nodes = t.context.nodes;
    const { open } = t.context;
    const senders = ["s1", "s2", "s3"];
    const watchers = await Promise.all(nodes.map((node, i) => register(node, open, `watch${i}`)));
    const sending = await Promise.all(nodes.map((node, i) => register(node, open, senders[i]!)));
    // Each watcher has seen every sender join: from here on every line is live.
    for (const watcher of watchers)
      await waitFor(
        () => senders.every((name) => timesAnnounced(watcher.all, name, "joined") > 0),
        30_000,
        "every sender announced joined",
      );
    const LINES = 300;
    await Promise.all(
      sending.map(async (client, i) => {
        for (let n = 0; n < LINES; n++) {
          client.send(`m ${senders[i]} ${n}`);
          if (n % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    const seen: string[][] = [];
    for (const watcher of watchers) {
      const lines: string[] = [];
      while (lines.length < LINES * senders.length) lines.push(await watcher.line(/^<s\d> m /, 60_000));
      seen.push(lines);
    }
    for (const lines of seen) {
      t.is(new Set(lines).size, lines.length, "a line twice");
      for (const name of senders) {
        const own = lines.filter((l) => l.startsWith(`<${name}> `)).map((l) => Number(l.split(" ").pop()));
        t.deepEqual(own, [...Array(LINES).keys()], `${name}'s lines out of order`);
      }
    }
    t.deepEqual(seen[1], seen[0], "B's order differs from A's");
    t.deepEqual(seen[2], seen[0], "C's order differs from A's");
    // A sender sees the others' lines too, in the same order, and never its own.
    const s1Lines: string[] = [];
    while (s1Lines.length < LINES * 2) s1Lines.push(await sending[0]!.line(/^<s\d> m /, 60_000));
    t.deepEqual(
      s1Lines,
      seen[0]!.filter((l) => !l.startsWith("<s1> ")),
    );
  },
);

serial(`cluster - /who, /msg and /history span the daemons${why}`, async (t) => {
  const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
  const { open } = t.context;
  const amy = await register(a, open, "amy");
  const ben = await register(b, open, "ben");
  const cal = await register(c, open, "cal");
  await amy.announced("cal", "joined");
  const names = await who(amy);
  for (const name of ["amy", "ben", "cal"]) t.is(names.filter((n) => n === name).length, 1);
  amy.send("/msg cal psst from a");
  t.is(await cal.line(/^\*amy\* /), "*amy* psst from a");
  t.is(await amy.line(/^-> /), "-> *cal* psst from a");
  ben.send("/me waves from b");
  t.is(await cal.line(/^\* ben /), "* ben waves from b");
  t.is(await amy.line(/^\* ben w/), "* ben waves from b");
  // Away and /whois travel with presence: set on B, seen from A.
  ben.send("/away lunch");
  await ben.line(/marked away/);
  amy.send("/whois ben");
  t.regex(await amy.line(/^\* ben is online since /), /ben is online since/);
  t.is(await amy.line(/^\* ben is away/), "* ben is away: lunch");
  amy.send("/who");
  t.regex(await amy.line(/^\* \d+ online: /), /\bben \(away\)/);
  amy.send("/msg ben are you there");
  t.is(await amy.line(/^\* ben is away/), "* ben is away: lunch");
  ben.send("/away");
  await ben.line(/back/);
  ben.send("history marker");
  await cal.line("<ben> history marker");
  await amy.line("<ben> history marker");
  const histories: string[] = [];
  for (const client of [amy, ben, cal]) {
    client.send("/history");
    const lines: string[] = [];
    for (;;) {
      const line = await client.line(/^(\[|\* end of history$)/);
      if (line === "* end of history") break;
      lines.push(line);
    }
    histories.push(lines.slice(-5).join("\n"));
  }
  t.regex(histories[0]!, /<ben> history marker$/);
  t.is(histories[1], histories[0]);
  t.is(histories[2], histories[0]);
  const users = await rpc<{ name: string; node: string }[]>(b, "users.list");
  t.is(users.find((u) => u.name === "amy")?.node, "a");
  t.is(users.find((u) => u.name === "cal")?.node, "c");
  const ctlWho = await b.tsctl(["who"]);
  t.regex(ctlWho.stdout, /^NAME\s+NODE\s+ADDRESS/);
  t.regex(ctlWho.stdout, /\bamy\s+a\s+127\.0\.0\.1/);
});

serial(`cluster - kick and announce from any daemon; status lists every daemon${why}`, async (t) => {
  const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
  const { open } = t.context;
  const dee = await register(c, open, "dee");
  const eve = await register(a, open, "eve");
  const announced = await rpc<{ delivered: number }>(b, "chat.announce", { text: "maintenance at noon" });
  t.true(announced.delivered >= 2);
  t.regex(await dee.line(/maintenance/), /maintenance at noon/);
  t.regex(await eve.line(/maintenance/), /maintenance at noon/);
  t.deepEqual(await rpc(a, "users.kick", { name: "dee", reason: "testing" }), { kicked: true });
  await dee.line(/disconnected by the operator/);
  await dee.closedByServer();
  t.false((await eve.announced("dee", "left")).includes("("), "dee's leave has a reason");
  t.false((await who(eve)).includes("dee"));
  const status = await rpc<{
    cluster: { name: string; redis: { url: string; connected: boolean }; nodes: { id: string }[] };
  }>(b, "status");
  t.is(status.cluster.name, "tsd");
  t.true(status.cluster.redis.connected);
  t.deepEqual(status.cluster.nodes.map((n) => n.id).sort(), ["a", "b", "c"]);
  const ctlStatus = await c.tsctl(["status"]);
  t.regex(ctlStatus.stdout, /cluster tsd: redis redis:\/\/127\.0\.0\.1:\d+ answering; 3 daemons/);
  t.regex(ctlStatus.stdout, /node b {2}host .* users \d+ {2}last heartbeat \d+ s ago/);
});

serial(
  `cluster - a daemon's identities.json imported: hashes copied, names already there kept${why}`,
  async (t) => {
    const [a, b] = t.context.nodes as [RunningDaemon, RunningDaemon];
    const { open, redis } = t.context;
    const dir = tempDir();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "identities.json");
    const store = new IdentityStore(file, { scrypt: { N: 1024 } });
    t.is(await store.register("oldtimer", "oldtimer", "kept-pw-1", "127.0.0.1"), "ok");
    t.is(await store.register("amy", "amy", "not-amys-pw", "127.0.0.1"), "ok");
    await store.close();
    const run = spawnDaemon(["--hub", "redis", "--redis-url", redis.url, "--import-identities", file]);
    t.teardown(() => run.cleanup());
    t.is((await run.exited).code, 0, run.stderr());
    t.regex(run.stdout(), /imported 1 of 2 accounts/);
    t.regex(run.stdout(), /kept as the cluster has them \(already there\): amy/);
    t.false(/hash|salt|kept-pw-1/.test(run.stdout()));
    const old = await signIn(b, open, "oldtimer", "kept-pw-1");
    t.regex(old.all, /welcome back, oldtimer/);
    // amy's account is the cluster's, not the imported one.
    const amy = await connect(a, open);
    await amy.loginPrompt();
    amy.send("amy");
    await amy.prompt("password: ");
    amy.send("not-amys-pw");
    await amy.line("! wrong password");
  },
);

serial(`cluster - guessing a password on three daemons in turn is slowed as on one${why}`, async (t) => {
  const nodes = t.context.nodes;
  const { open } = t.context;
  await register(nodes[0]!, open, "vault", "right-pw-1");
  // Wrong passwords on A, B, C, A, then B: the account+address delay doubles with each failure
  // wherever it happened (250 ms, 500, 1 s, 2 s), so the fifth waits about 2 s. Counted per
  // daemon, B would have seen one failure, 2 s earlier, and not waited at all. Every guesser is
  // at its password prompt before the first guess, so nothing but the delays lies between them.
  const guessers: ChatClient[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const guesser = await connect(nodes[attempt % 3]!, open);
    await guesser.loginPrompt();
    guesser.send("vault");
    await guesser.prompt("password: ");
    guessers.push(guesser);
  }
  let lastWait = 0;
  for (const [attempt, guesser] of guessers.entries()) {
    const sentAt = Date.now();
    guesser.send(`guess-${attempt}`);
    await guesser.line("! wrong password");
    lastWait = Date.now() - sentAt;
    t.log(`guess ${attempt}: ${lastWait} ms`);
  }
  t.log(`the fifth guess (on B) waited ${lastWait} ms`);
  // The five failures are counted together, whichever daemon saw each (failures:last, Redis's clock).
  await waitFor(
    async () => /^5:\d+$/.test(await t.context.redis.cli("GET", "tsd:{tsd}:failed:vault:127.0.0.1")),
    10_000,
    "five failures counted in Redis",
  );
  t.true(lastWait >= 1000, `the fifth guess waited only ${lastWait} ms`);
});

serial(`cluster - identities.reset and identities.remove act on the cluster's accounts${why}`, async (t) => {
  const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
  const { open } = t.context;
  await register(b, open, "resetme", "old-pw-11");
  const { oneTimePassword } = await rpc<{ oneTimePassword: string }>(a, "identities.reset", {
    name: "resetme",
  });
  const back = await connect(c, open);
  await back.loginPrompt();
  back.send("resetme");
  await back.prompt("password: ");
  back.send(oneTimePassword);
  await back.prompt("new password: ");
  back.send("new-pw-22");
  await back.prompt("repeat password: ");
  back.send("new-pw-22");
  await back.line(/^\* \d+ online: /);
  const again = await signIn(a, open, "resetme", "new-pw-22");
  // Removed from B while signed in on A: the session on A is closed, the account gone everywhere.
  t.deepEqual(await rpc(b, "identities.remove", { name: "resetme" }), { removed: true });
  await again.line("* your account was removed by the operator");
  await again.closedByServer();
  const listed = await rpc<{ name: string }[]>(c, "identities.list");
  t.false(listed.some((acc) => acc.name === "resetme"));
});

serial(`cluster - identities.list and identities.wipe act on the cluster's accounts${why}`, async (t) => {
  const [a, b] = t.context.nodes as [RunningDaemon, RunningDaemon];
  const listed = await rpc<{ name: string }[]>(b, "identities.list");
  t.true(listed.some((acc) => acc.name === "amy"));
  t.false(JSON.stringify(listed).includes("hash"));
  const { removed } = await rpc<{ removed: number }>(a, "identities.wipe");
  t.is(removed, listed.length);
  t.deepEqual(await rpc(b, "identities.list"), []);
});

serial(
  `cluster - a daemon stopped gracefully: its users leave at once, not when its lease ends${why}`,
  async (t) => {
    const [a, b, c] = t.context.nodes as [RunningDaemon, RunningDaemon, RunningDaemon];
    const { open } = t.context;
    const watcher = await register(a, open, "watcher");
    await register(c, open, "zed");
    await watcher.announced("zed", "joined");
    const stoppedAt = Date.now();
    const stop = await c.tsctl(["stop", "--grace", "0s"]);
    t.is(stop.code, 0, stop.stderr);
    await watcher.announced("zed", "left");
    const elapsed = Date.now() - stoppedAt;
    t.log(`a stopped daemon's user left after ${elapsed} ms`);
    await waitFor(
      async () =>
        !(await rpc<{ cluster: { nodes: { id: string }[] } }>(b, "status")).cluster.nodes.some(
          (n) => n.id === "c",
        ),
      5000,
      "the stopped daemon gone from status",
    );
    t.false((await who(watcher)).includes("zed"));
  },
);
