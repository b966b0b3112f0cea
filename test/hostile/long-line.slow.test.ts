import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, startDaemon, shape } from "../helpers/daemon.ts";
import { bound, daemonPids, flood, MiB, patternChunk, rssSampler, totalRss } from "./helpers.ts";

const HUGE = 100 * MiB;
const TOO_LONG = "! line too long (limit 4096 bytes)";
/**
 * A worker that reads 100 MB legitimately grows by up to ~64 MiB before V8 collects the
 * off-heap read buffers (it collects on ~64 MiB of external allocations), so the budget is
 * 96 MiB: well under the 100 MiB that keeping the line would cost on top of that garbage.
 */
const RSS_BUDGET = 96 * MiB;

let daemon: RunningDaemon;
const clients: ChatClient[] = [];

test.before(async () => {
  daemon = await startDaemon([...shape(2, 1), "--no-echo"]);
});
test.after.always(async () => {
  for (const c of clients) c.close();
  await daemon?.cleanup();
});

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** Sends 100 MB without a line end, with backpressure; resolves with what the flood and the daemon's memory did. */
async function hugeLine(c: ChatClient, pids: number[]) {
  const before = totalRss(pids);
  const sampler = rssSampler(pids);
  const result = await flood(c.socket, {
    total: HUGE,
    deadlineMs: 90_000,
    chunk: patternChunk("a", 64 * 1024),
  });
  c.write("\r\n"); // ends the over-long line: the server resynchronises here
  const max = sampler.stop();
  return { result, growth: max - before, before };
}

test.serial(
  "long line - 100 MB without a line end, before and after sign-in: bounded memory, one error each, connection usable",
  async (t) => {
    const pids = await daemonPids(daemon);
    const reader = await ChatClient.connect(daemon.chatPort);
    clients.push(reader);
    await reader.register("reader", "secret1");

    const c = await ChatClient.connect(daemon.chatPort);
    clients.push(c);
    await c.loginPrompt();

    // Before sign-in, at the login prompt.
    const pre = await hugeLine(c, pids);
    t.is(pre.result.stop, "limit", "all 100 MB were sent");
    t.is(await c.line(/^! /, 30_000), TOO_LONG);
    c.send("flooder");
    await c.prompt("new password: ", 30_000);
    c.send("secret1");
    await c.prompt("repeat password: ");
    c.send("secret1");
    await c.line(/^\* \d+ online: /);
    await reader.announced("flooder", "joined");

    // After sign-in.
    const post = await hugeLine(c, pids);
    t.is(post.result.stop, "limit", "all 100 MB were sent");
    t.is(await c.line(/^! /, 30_000), TOO_LONG);
    c.send("a normal line after the flood");
    t.is(await reader.line(/^<flooder> /, 30_000), "<flooder> a normal line after the flood");

    bound(t, "long-line", "daemon RSS before (MiB)", pre.before / MiB);
    bound(t, "long-line", "daemon RSS growth during 100 MB line before sign-in (MiB)", pre.growth / MiB);
    bound(t, "long-line", "daemon RSS growth during 100 MB line after sign-in (MiB)", post.growth / MiB);
    bound(
      t,
      "long-line",
      "daemon RSS growth over both 100 MB lines (MiB)",
      (totalRss(pids) - pre.before) / MiB,
    );
    bound(t, "long-line", "time to send 100 MB before sign-in (ms)", pre.result.ms);
    bound(t, "long-line", "time to send 100 MB after sign-in (ms)", post.result.ms);
    bound(t, "long-line", "'line too long' errors for two 100 MB lines", count(c.all, TOO_LONG));
    t.true(pre.growth < RSS_BUDGET, `growth ${(pre.growth / MiB).toFixed(1)} MiB < 96 MiB`);
    t.true(post.growth < RSS_BUDGET, `growth ${(post.growth / MiB).toFixed(1)} MiB < 96 MiB`);
    t.true(totalRss(pids) - pre.before < RSS_BUDGET, "nothing of 200 MB of over-long lines is kept");
    t.is(count(c.all, TOO_LONG), 2, "exactly one error per over-long line");
    t.false(c.closed);
    t.false(reader.all.includes("aaaa"), "nothing of the over-long lines reached another user");
  },
);
