import fs from "node:fs";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { spawnDaemon } from "../helpers/daemon.ts";
import { NO_REDIS, rpc, startNode, TestRedis } from "./cluster-helpers.ts";

/**
 * The Redis URL's password is never shown: not in an error at start (a URL the client refuses
 * included, whose password may hold an unencoded `/` or `@`), nor in status, config.get or the log.
 * Against a real redis-server with requirepass and real daemons.
 */
const test = anyTest as TestFn<{ redis: TestRedis }>;
const serial = NO_REDIS ? test.serial.skip : test.serial;
const why = NO_REDIS ? ` (skipped: ${NO_REDIS})` : "";
const PASSWORD = "pw-Zq7/x@Kv";

test.before(async (t) => {
  if (NO_REDIS) return;
  const redis = new TestRedis();
  await redis.start();
  await redis.cli("config", "set", "requirepass", PASSWORD);
  t.context.redis = redis;
});

test.after.always(async (t) => {
  await t.context.redis?.cleanup();
});

/** The password's pieces that a parser would show as host or path when it is not percent-encoded. */
function leaked(text: string): string[] {
  return ["pw-Zq7", "x@Kv", "Kv@", "Zq7/x", encodeURIComponent(PASSWORD)].filter((piece) =>
    text.includes(piece),
  );
}

serial(
  `cluster - a --redis-url the client refuses: exit 1, one sentence naming it, no password${why}`,
  async (t) => {
    const port = t.context.redis.port;
    const urls = [
      `http://:${PASSWORD}@127.0.0.1:${port}`,
      `redis://:${PASSWORD}@127.0.0.1:99999`,
      `redis://:${PASSWORD}@127.0.0.1:${port}`,
      // One slash: no authority for a parser, and nothing between `//` and `@` to mask.
      `redis:/:${PASSWORD}@127.0.0.1:${port}`,
    ];
    for (const url of urls) {
      const daemon = spawnDaemon(["--hub", "redis", "--redis-url", url, "--redis-connect-timeout", "2"]);
      try {
        t.is((await daemon.exited).code, 1, url);
        const said = daemon.stderr();
        t.regex(
          said,
          /tsd-daemon: --redis-url \w+:(\/\/:)?\*\*\*@127\.0\.0\.1:\d+ is not a Redis URL \(/,
          said,
        );
        t.deepEqual(leaked(said + daemon.stdout()), [], said);
      } finally {
        await daemon.cleanup();
      }
    }
  },
);

serial(`cluster - a password in --redis-url is masked in status, config.get and the log${why}`, async (t) => {
  const url = `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${t.context.redis.port}/0`;
  const daemon = await startNode({ url }, "masked");
  try {
    const status = await rpc<{ cluster: { redis: { url: string; connected: boolean } } }>(daemon, "status");
    t.true(status.cluster.redis.connected);
    t.is(status.cluster.redis.url, `redis://:***@127.0.0.1:${t.context.redis.port}/0`);
    const config = JSON.stringify(await rpc(daemon, "config.get"));
    t.true(config.includes(`redis://:***@127.0.0.1:${t.context.redis.port}/0`), config);
    t.deepEqual(leaked(config), []);
    const log = fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8");
    t.deepEqual(leaked(log + daemon.stdout()), []);
  } finally {
    await daemon.cleanup();
  }
});
