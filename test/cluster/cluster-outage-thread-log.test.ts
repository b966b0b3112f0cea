import fs from "node:fs";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { IGNORES_UNAVAILABLE } from "../../protocol/chat-lines.ts";
import type { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, waitFor } from "../helpers/daemon.ts";
import { logOf, NO_REDIS, register, startNode, TestRedis } from "./cluster-helpers.ts";

/**
 * While the cluster's Redis is away, a signed-in user's /unignore (and /passwd) is answered with a
 * `! ` line; the session thread's warning about it is logged once per fault kind every 10 s, with
 * the count of those left out in the next line, as the primary's are: not one line per request (a
 * user at the flood rate would write 5 lines a second, N users 5N). A real redis-server, stopped;
 * a real daemon.
 */
interface Context {
  redis: TestRedis;
  a: RunningDaemon;
  open: ChatClient[];
}
const test = anyTest as TestFn<Context>;
const serial = NO_REDIS ? test.serial.skip : test.serial;
const why = NO_REDIS ? ` (skipped: ${NO_REDIS})` : "";

const NOT_CHANGED = /^.*ignore list not changed.*$/gm;
const UNAVAILABLE = IGNORES_UNAVAILABLE.trimEnd();

test.before(async (t) => {
  t.context.open = [];
  if (NO_REDIS) return;
  const redis = new TestRedis();
  t.context.redis = redis;
  await redis.start();
  t.context.a = await startNode(redis, "a");
});

test.after.always(async (t) => {
  for (const client of t.context.open.splice(0)) client.close();
  await t.context.a?.cleanup();
  await t.context.redis?.cleanup();
});

function warned(daemon: RunningDaemon): string[] {
  return fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8").match(NOT_CHANGED) ?? [];
}

serial(`cluster - Redis away: a user's refused /unignore is not logged once per request${why}`, async (t) => {
  const { a, open, redis } = t.context;
  const amy = await register(a, open, "amy");
  await register(a, open, "bob");
  amy.send("/ignore bob");
  await amy.line("* ignoring bob (they are not told)");
  await redis.shutdown();

  const tries = 30;
  for (let i = 0; i < tries; i++) {
    amy.send("/unignore bob");
    await amy.line(UNAVAILABLE);
  }
  const first = await waitFor(() => warned(a)[0], 15_000, "the warning logged");
  t.log(first);
  t.is(warned(a).length, 1, logOf(a));

  // More, one each poll (100 ms apart), until the next warning is written (10 s after the first):
  // it counts the ones left out.
  let sent = tries;
  const second = await waitFor(
    async () => {
      const lines = warned(a);
      if (lines.length > 1) return lines[1];
      if (sent < tries + 300) {
        amy.send("/unignore bob");
        await amy.line(UNAVAILABLE);
        sent++;
      }
      return undefined;
    },
    60_000,
    "a second warning",
  );
  t.log(second);
  t.log(`${sent} refused /unignore, ${warned(a).length} warnings logged`);
  const left = Number(/alikeSinceLastLine\W+(\d+)/.exec(second)?.[1]);
  t.true(left >= tries - 1, `the next line counts those left out: ${second}`);
});
