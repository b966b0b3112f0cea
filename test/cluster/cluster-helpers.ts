import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import type { TestFn } from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, shape, startDaemon, tempDir, UNLIMITED_CHAT } from "../helpers/daemon.ts";
import { callRpc } from "../helpers/rpc.ts";

/** Why the cluster tests cannot run here, or null when redis-server is installed (CI installs it: .ci/run). */
export const NO_REDIS: string | null =
  spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0
    ? null
    : "redis-server is not installed (apt-get install redis-server)";

/** A free loopback port (bound and released; the tests start redis-server on it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a starting redis-server says it is ready (readyText: a Sentinel says `+monitor`); rejects if it exits first or takes 30 s. */
export function untilRedisReady(
  proc: ChildProcess,
  readyText = "Ready to accept connections",
): Promise<void> {
  let out = "";
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready in 30 s\n${out}`)), 30_000);
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes(readyText)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}\n${out}`));
    });
  });
}

/**
 * A real redis-server for one test file: a free loopback port, its own temp dir, AOF on (as the
 * docs ask), DEBUG allowed (DEBUG SLEEP stalls it). stop() and start() restart it on the same port
 * and files.
 */
export class TestRedis {
  readonly dir: string;
  port = 0;
  private proc: ChildProcess | null = null;

  constructor() {
    this.dir = tempDir();
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (on the same port after a stop) and resolves when it accepts connections. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const proc = spawn(
      "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dir,
        "--appendonly",
        "yes",
        "--save",
        "",
        "--enable-debug-command",
        "yes",
        "--maxmemory-policy",
        "noeviction",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.proc = proc;
    await untilRedisReady(proc);
  }

  /** One redis-cli command; resolves with its output. */
  cli(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile("redis-cli", ["-p", String(this.port), ...args], { timeout: 60_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout.trim()),
      );
    });
  }

  /** `redis-cli shutdown nosave`, and resolves once the process has gone. */
  async shutdown(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const gone = new Promise((resolve) => proc.once("exit", resolve));
    await this.cli("shutdown", "nosave").catch(() => {});
    await gone;
  }

  async cleanup(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((resolve) => proc.once("exit", resolve));
      proc.kill("SIGKILL");
      await gone;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A daemon of the cluster at --workers 1 --threads 1, in its own process group (so the group can be killed). */
export function startNode(
  redis: TestRedis | { url: string },
  node: string,
  extra: string[] = [],
): Promise<RunningDaemon> {
  return startDaemon(
    [
      "--hub",
      "redis",
      "--redis-url",
      redis.url,
      "--node-id",
      node,
      ...shape(1, 1),
      ...UNLIMITED_CHAT,
      ...extra,
    ],
    { wrap: ["setsid"] },
  );
}

/** A control call that must succeed. */
export async function rpc<T>(daemon: RunningDaemon, method: string, params?: unknown): Promise<T> {
  const answer = await callRpc(daemon.socket, method, params);
  if (answer.error) throw new Error(`${method}: ${answer.error.code} ${answer.error.message}`);
  return answer.result as T;
}

/** A chat connection to a daemon, closed by the caller's cleanup list. */
export async function connect(daemon: RunningDaemon, open: ChatClient[]): Promise<ChatClient> {
  const client = await ChatClient.connect(daemon.chatPort);
  open.push(client);
  return client;
}

/** A connection that registers name on that daemon (its "* N online" line read). */
export async function register(
  daemon: RunningDaemon,
  open: ChatClient[],
  name: string,
  password = "secret-pw1",
): Promise<ChatClient> {
  const client = await connect(daemon, open);
  await client.register(name, password);
  return client;
}

/** A connection that signs in to an existing account on that daemon. */
export async function signIn(
  daemon: RunningDaemon,
  open: ChatClient[],
  name: string,
  password = "secret-pw1",
): Promise<ChatClient> {
  const client = await connect(daemon, open);
  await client.signIn(name, password);
  return client;
}

/** The names of /who's answer on that connection; none while the cluster's Redis cannot say (a `! ` line). */
export async function who(client: ChatClient): Promise<string[]> {
  client.send("/who");
  const line = await client.line(/^(\* \d+ online: |! who is online cannot be known)/);
  if (line.startsWith("! ")) return [];
  return line
    .replace(/^\* \d+ online: /, "")
    .split(", ")
    .map((n) => n.replace(/ \(away\)$/, ""));
}

/** The directory of a daemon's logs (for failures). */
export function logOf(daemon: RunningDaemon): string {
  try {
    return fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8").slice(-4000);
  } catch {
    return "";
  }
}

/** What a test file of three daemons on one Redis shares: the server, the daemons, the clients to close. */
export interface ClusterContext {
  redis: TestRedis;
  nodes: RunningDaemon[];
  open: ChatClient[];
}

/**
 * Starts a real redis-server and three daemons (a, b, c) before the file's tests, closes each
 * test's clients after it and stops everything after the file; without redis-server its tests
 * are skipped, their titles saying why.
 */
export function threeNodeCluster(test: TestFn<ClusterContext>) {
  test.before(async (t) => {
    t.context.open = [];
    t.context.nodes = [];
    if (NO_REDIS) return;
    const redis = new TestRedis();
    t.context.redis = redis;
    await redis.start();
    t.context.nodes = await Promise.all(["a", "b", "c"].map((id) => startNode(redis, id)));
  });
  test.afterEach.always((t) => {
    for (const client of t.context.open.splice(0)) client.close();
  });
  test.after.always(async (t) => {
    await Promise.all(t.context.nodes.map((node) => node.cleanup()));
    await t.context.redis?.cleanup();
  });
  return {
    serial: NO_REDIS ? test.serial.skip : test.serial,
    why: NO_REDIS ? ` (skipped: ${NO_REDIS})` : "",
  };
}
