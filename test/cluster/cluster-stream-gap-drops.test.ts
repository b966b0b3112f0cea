import anyTest, { type TestFn } from "ava";
import { STREAM_MAXLEN } from "../../daemon/primary/cluster/cluster-limits.ts";
import { connect, logOf, register, rpc } from "./cluster-helpers.ts";
import { daemonPair, type PairContext } from "./daemon-pair.ts";
import { EVENTS, FILL, FILLER } from "./stream-fill.ts";

/**
 * spec/cluster.md: a kick, a ban, an account's removal or a takeover of a user held by another
 * daemon closes that session wherever it is. The close travels as a `drop` event on the cluster's
 * stream; a daemon whose reader falls further behind than the stream's trim never reads it. When
 * it finds the gap it must check its own sessions against Redis (the online hash, the accounts,
 * the bans) and close those the cluster no longer counts as its own, each with the line the lost
 * event would have given. A real redis-server, two real daemons; b is paused (SIGSTOP of its
 * process group, well within its lease) while the drops and more than a trim's worth of events go
 * onto the stream.
 */
const test = anyTest as TestFn<PairContext>;
const { serial, why } = daemonPair(test);

serial(
  `cluster - drops lost to the stream's trim: the daemon that fell behind closes those sessions as the drops would have${why}`,
  async (t) => {
    const { a, b, open, redis } = t.context;
    const amy = await register(a, open, "amy");
    const kim = await register(b, open, "kim");
    const ben = await register(b, open, "ben");
    const rex = await register(b, open, "rex");
    const tom = await register(b, open, "tom");
    const sam = await register(b, open, "sam");
    for (const name of ["kim", "ben", "rex", "tom", "sam"]) await amy.announced(name, "joined");

    // tom's sign-in on a is typed up to its password before the pause: the pause stays short (b's lease is 5 s).
    const tom2 = await connect(a, open);
    await tom2.loginPrompt();
    tom2.send("tom");
    await tom2.prompt("password: ");

    const pgid = b.proc.pid!;
    const stoppedAt = Date.now();
    process.kill(-pgid, "SIGSTOP");
    try {
      // The first event answers b's pending read (it waits in b's socket); what follows is lost.
      await redis.cli("XADD", EVENTS, "*", "e", FILLER);
      // Each puts a drop for b's session on the stream; b reads none of them.
      const kicked = rpc(a, "users.kick", { name: "kim", reason: "spam" });
      const banned = rpc(a, "bans.add", { target: "ben", reason: "abuse" });
      const removed = rpc(a, "identities.remove", { name: "rex" });
      tom2.send("secret-pw1");
      const taken = tom2.line(/^\* \d+ online: /);
      t.deepEqual(await kicked, { kicked: true });
      await Promise.all([banned, removed]);
      await taken;
      await redis.cli("EVAL", FILL, "1", EVENTS, String(STREAM_MAXLEN + 5000), String(STREAM_MAXLEN), FILLER);
    } finally {
      process.kill(-pgid, "SIGCONT");
    }
    const resumedAt = Date.now();
    t.log(`b paused for ${resumedAt - stoppedAt} ms`);

    await kim.line(/^\* disconnected by the operator/, 30_000);
    await kim.closedByServer(15_000);
    await ben.line("* disconnected by the operator: abuse", 30_000);
    await ben.closedByServer(15_000);
    await rex.line("* your account was removed by the operator", 30_000);
    await rex.closedByServer(15_000);
    await tom.line("* signed in from elsewhere", 30_000);
    await tom.closedByServer(15_000);
    t.log(`the four sessions closed ${Date.now() - resumedAt} ms after b resumed`);

    // sam, whom nothing happened to, stays and chats; tom's new session on a hears it.
    await sam.line(/^! this server fell behind/, 30_000);
    sam.send("still here");
    await amy.line("<sam> still here");
    await tom2.line("<sam> still here");
    for (const client of [kim, ben, rex, tom]) t.false(client.all.includes("still here"), logOf(b));
  },
);
