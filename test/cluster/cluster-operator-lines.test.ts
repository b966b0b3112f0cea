import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import anyTest, { type TestFn } from "ava";
import { type RunningDaemon, spawnDaemon, tempDir, tsctl, waitFor } from "../helpers/daemon.ts";
import { freePort, NO_REDIS, rpc, startNode, TestRedis, untilRedisReady } from "./cluster-helpers.ts";

/**
 * What the operator reads about the cluster's Redis says one thing at a time, and the truth:
 * status never calls a Redis "answering" while its fault line says it has not answered; the start
 * error says how long the daemon really waited; a URL at a server that is not Redis says so.
 * A real redis-server (stalled with SIGSTOP), real daemons, the real tsctl, and two servers that
 * are not Redis (an HTTP server, a TCP port that answers garbage).
 */
interface Context {
  redis: TestRedis;
  a: RunningDaemon;
}
const test = anyTest as TestFn<Context>;
const serial = NO_REDIS ? test.serial.skip : test.serial;
const why = NO_REDIS ? ` (skipped: ${NO_REDIS})` : "";

interface RedisStatus {
  connected: boolean;
  fault?: string;
}

test.before(async (t) => {
  if (NO_REDIS) return;
  const redis = new TestRedis();
  t.context.redis = redis;
  await redis.start();
  t.context.a = await startNode(redis, "a");
});

test.after.always(async (t) => {
  await t.context.a?.cleanup();
  await t.context.redis?.cleanup();
});

/** A server on a free loopback port that answers each connection with garbage; closed at teardown. */
async function listening(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

serial(`cluster - status during a Redis stall: never "answering" beside a fault${why}`, async (t) => {
  const { a, redis } = t.context;
  const pid = Number(/process_id:(\d+)/.exec(await redis.cli("info", "server"))?.[1]);
  t.true(pid > 0);
  const samples: RedisStatus[] = [];
  let text = "";
  process.kill(pid, "SIGSTOP");
  try {
    // Every sample from the stall's start until the link has been dropped as silent (3 s) and
    // some more: each must be one state.
    await waitFor(
      async () => {
        const status = await rpc<{ cluster: { redis: RedisStatus } }>(a, "status");
        samples.push(status.cluster.redis);
        if (!text && status.cluster.redis.fault)
          text = (await tsctl(["--socket", a.socket, "status"])).stdout;
        return samples.filter((s) => s.fault && !s.connected).length >= 20 && text !== "" ? true : null;
      },
      30_000,
      "the stall shown",
    );
  } finally {
    process.kill(pid, "SIGCONT");
  }
  const faulty = samples.filter((s) => s.fault);
  t.log(`${samples.length} status samples, ${faulty.length} with a fault; e.g. ${faulty[0]?.fault}`);
  const both = faulty.filter((s) => s.connected && /has not answered|cannot be reached/.test(s.fault!));
  t.deepEqual(both, [], "connected beside a fault that says Redis does not answer");
  const line = text.split("\n").find((l) => l.startsWith("cluster "));
  t.log(line);
  t.log(text.split("\n").find((l) => l.includes("fault:")));
  t.notRegex(line ?? "", /(?<!NOT )answering/, text);
  await waitFor(
    async () => (await rpc<{ cluster: { redis: RedisStatus } }>(a, "status")).cluster.redis.connected,
    30_000,
    "Redis answering again",
  );
});

serial(
  `cluster - the start error says how long the daemon tried, and it gave up in time${why}`,
  async (t) => {
    // A free port: connection refused at each try.
    const server = net.createServer();
    const port = await listening(server);
    await new Promise((resolve) => server.close(resolve));
    const daemon = spawnDaemon([
      "--hub",
      "redis",
      "--redis-url",
      `redis://127.0.0.1:${port}`,
      "--redis-connect-timeout",
      "3",
    ]);
    try {
      t.is((await daemon.exited).code, 1);
      const said = daemon.stderr().trim();
      t.log(said);
      t.regex(said, /connection refused/);
      const tried = Number(/(?:tried for|within) ([\d.]+) s/.exec(said)?.[1]);
      // What it says is what it did, by its own log's clock: from its first try to giving up.
      const log = daemon.stdout();
      const at = (pattern: RegExp) => Date.parse(pattern.exec(log)?.[1] ?? "");
      const waited =
        (at(/^(\S+) error .*cannot reach Redis/m) - at(/^(\S+) info .*connecting to the cluster's Redis/m)) /
        1000;
      t.log(`said ${tried} s; logged ${waited} s between connecting and giving up`);
      t.true(Math.abs(waited - tried) <= 0.5, `said ${tried} s, waited ${waited} s`);
      // And it gives up when the timeout says (a moment's slack for a loaded machine).
      t.true(tried >= 3 && tried < 4, `tried for ${tried} s`);
    } finally {
      await daemon.cleanup();
    }
  },
);

/** Starts the daemon at url; resolves once it exited (it must exit 1) with what it said on stderr, all it printed, and when. */
async function startRefused(
  t: { is: (a: unknown, b: unknown, m?: string) => void },
  url: string,
): Promise<{ said: string; printed: string; tookMs: number }> {
  const startedAt = Date.now();
  const daemon = spawnDaemon(["--hub", "redis", "--redis-url", url, "--redis-connect-timeout", "30"]);
  try {
    const { code } = await daemon.exited;
    t.is(code, 1, daemon.stderr());
    return {
      said: daemon.stderr().trim(),
      printed: daemon.stderr() + daemon.stdout(),
      tookMs: Date.now() - startedAt,
    };
  } finally {
    await daemon.cleanup();
  }
}

serial(
  `cluster - a URL at a server that is not Redis: one sentence saying so, exit 1, at once${why}`,
  async (t) => {
    const garbage = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.end("garbage, not Redis\r\n");
    });
    const http = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
    });
    const ports = [await listening(garbage), await listening(http)];
    t.teardown(() => {
      garbage.close();
      http.close();
    });
    for (const port of ports) {
      const { said, printed, tookMs } = await startRefused(t, `redis://127.0.0.1:${port}`);
      t.log(`${said} (after ${tookMs} ms)`);
      t.regex(said, new RegExp(`redis://127\\.0\\.0\\.1:${port}.* does not speak the Redis protocol`));
      t.is(said.split("\n").length, 1, said);
      t.false(/\n\s+at /.test(printed), "a stack");
      // Not the 30 s of the connect timeout: waiting does not make it Redis.
      t.true(tookMs < 20_000, `${tookMs} ms`);
    }
  },
);

serial(
  `cluster - a URL at a Redis Sentinel, or a database number beyond Redis's: one sentence naming it, not Redis's words${why}`,
  async (t) => {
    const dir = tempDir();
    const port = await freePort();
    const conf = path.join(dir, "sentinel.conf");
    fs.writeFileSync(conf, `port ${port}\nbind 127.0.0.1\nsentinel monitor watched 127.0.0.1 1 1\n`);
    const sentinel = spawn("redis-server", [conf, "--sentinel"], { stdio: ["ignore", "pipe", "pipe"] });
    t.teardown(() => {
      sentinel.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await untilRedisReady(sentinel, "+monitor");
    const { said: atSentinel } = await startRefused(t, `redis://127.0.0.1:${port}`);
    t.log(atSentinel);
    t.regex(atSentinel, /does not run tsd's commands \(a Sentinel\? give the URL of the Redis it watches\)/);
    t.is(atSentinel.split("\n").length, 1, atSentinel);
    t.notRegex(atSentinel, /unknown command|ZSCORE/i);

    const { said: beyond } = await startRefused(t, `${t.context.redis.url}/99`);
    t.log(beyond);
    t.regex(beyond, /the database number in the URL is beyond its `databases`/);
    t.is(beyond.split("\n").length, 1, beyond);
    t.notRegex(beyond, /not connected|DB index/);
  },
);
