// cluster: several tsd daemons on one Redis (--hub redis, docs/cluster.md) against the embedded
// hub, under the same chat fan-out load, driven from this process: 1,000 receivers (spread
// evenly over the cluster's three daemons) and 10 senders. The rate steps up (100, 200, 400, 800
// lines/s in all; a step losing over 5% ends it); each step reports the deliveries per second,
// p50/p99 latency, the daemons' CPU and Redis's CPU, and the table says at which rate the p99
// first passed 100 ms.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { hashPassword } from "../../daemon/shared/password.ts";
import { treeCpuSeconds, which } from "../proc.ts";
import { repoRoot } from "../servers.ts";
import { median } from "../stats.ts";
import { fmtNumber, renderTable } from "../table.ts";
import type { BenchContext, BenchOptions, Scenario, ScenarioReport } from "../types.ts";

const PASSWORD = "benchpw";
const RECEIVERS = 1000;
const SENDERS = 10;
const RATES = [100, 200, 400, 800];
const P99_LIMIT_MS = 100;
const DAEMON = path.join(repoRoot, "daemon", "main.ts");

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

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

/** Starts a process and resolves once a line of its stdout matches ready; returns the match. */
export function startProcess(
  cmd: string,
  args: string[],
  ready: RegExp,
): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${cmd} not ready in 60 s\n${out}`)), 60_000);
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ proc, match });
      }
    });
    proc.stderr!.on("data", (d: Buffer) => {
      out += d.toString();
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited with ${code}\n${out.slice(-2000)}`));
    });
  });
}

export async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((resolve) => proc.once("exit", resolve));
  try {
    process.kill(-proc.pid!, "SIGTERM");
  } catch {}
  const timer = setTimeout(() => {
    try {
      process.kill(-proc.pid!, "SIGKILL");
    } catch {}
  }, 10_000);
  await gone;
  clearTimeout(timer);
}

/** A chat connection of the load: signs in, then counts (and times) the bench lines it receives. */
class LoadClient {
  readonly socket: net.Socket;
  private buffer = "";
  private waiting: { match: RegExp; resolve: () => void } | null = null;
  onBenchLine: ((sentAtMs: number) => void) | null = null;

  constructor(port: number) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.setNoDelay(true);
    this.socket.on("error", () => {});
    this.socket.on("data", (chunk: Buffer) => this.read(chunk.toString("latin1")));
  }

  private read(text: string): void {
    this.buffer += text;
    if (this.waiting?.match.test(this.buffer)) {
      const { resolve } = this.waiting;
      this.waiting = null;
      resolve();
    }
    if (!this.onBenchLine) {
      if (this.buffer.length > 65536) this.buffer = this.buffer.slice(-4096);
      return;
    }
    let at = 0;
    for (;;) {
      const end = this.buffer.indexOf("\n", at);
      if (end === -1) break;
      const line = this.buffer.slice(at, end);
      at = end + 1;
      const mark = line.indexOf("> b ");
      if (mark !== -1) this.onBenchLine(Number(line.slice(mark + 4, line.indexOf(" ", mark + 4))));
    }
    this.buffer = this.buffer.slice(at);
  }

  until(match: RegExp, timeoutMs = 60_000): Promise<void> {
    if (match.test(this.buffer)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${match} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting = {
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }

  async signIn(name: string): Promise<void> {
    await this.until(/login[^:]*: $/);
    this.buffer = "";
    this.socket.write(`${name}\r\n`);
    await this.until(/password: $/);
    this.buffer = "";
    this.socket.write(`${PASSWORD}\r\n`);
    await this.until(/\* \d+ online: /);
    this.buffer = "";
  }
}

interface StepResult {
  hub: string;
  rate: number;
  deliveriesPerS: number;
  lostPercent: number;
  p50: number;
  p99: number;
  daemonCores: number;
  redisCores: number | null;
}

/** One rate step: senders send `rate` lines/s in all for the window; receivers time each line. */
async function runStep(
  hub: string,
  rate: number,
  senders: LoadClient[],
  receivers: LoadClient[],
  options: BenchOptions,
  daemonPids: number[],
  redisPid: number | null,
): Promise<StepResult> {
  const latencies: number[] = [];
  let delivered = 0;
  let measuring = false;
  for (const r of receivers)
    r.onBenchLine = (sentAt) => {
      // Every line sent in the window carries its time (the others -1): counted whenever it arrives.
      if (sentAt < 0) return;
      delivered++;
      latencies.push(performance.timeOrigin + performance.now() - sentAt);
    };
  const perSender = rate / senders.length;
  let sentMeasured = 0;
  let stop = false;
  const sending = senders.map(async (sender, i) => {
    const start = performance.now();
    let n = 0;
    while (!stop) {
      const due = start + (n * 1000) / perSender;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (stop) break;
      const now = performance.timeOrigin + performance.now();
      // Lines sent while not measuring carry -1: they are not counted.
      sender.socket.write(`b ${measuring ? now.toFixed(3) : "-1"} ${i}-${n}\r\n`);
      if (measuring) sentMeasured++;
      n++;
    }
  });
  await sleep(options.warmupS * 1000);
  const cpuBefore = daemonPids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
  const redisBefore = redisPid === null ? 0 : treeCpuSeconds(redisPid);
  const t0 = performance.now();
  measuring = true;
  await sleep(options.durationS * 1000);
  measuring = false;
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = daemonPids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0) - cpuBefore;
  const redisCpu = redisPid === null ? null : treeCpuSeconds(redisPid) - redisBefore;
  stop = true;
  await Promise.all(sending);
  // Lines still on their way are counted if they arrive within the drain.
  const expected = sentMeasured * receivers.length;
  const drainUntil = performance.now() + 3000;
  while (delivered < expected && performance.now() < drainUntil) await sleep(50);
  for (const r of receivers) r.onBenchLine = null;
  latencies.sort((a, b) => a - b);
  const pick = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    hub,
    rate,
    deliveriesPerS: delivered / elapsedS,
    lostPercent: expected === 0 ? 0 : (100 * (expected - Math.min(delivered, expected))) / expected,
    p50: pick(0.5),
    p99: pick(0.99),
    daemonCores: cpu / elapsedS,
    redisCores: redisCpu === null ? null : redisCpu / elapsedS,
  };
}

/** Signs in every receiver and sender, `at a time` at once, spread round-robin over ports. */
async function connectLoad(ports: number[]): Promise<{ senders: LoadClient[]; receivers: LoadClient[] }> {
  const names = [
    ...Array.from({ length: RECEIVERS }, (_, i) => `r${i}`),
    ...Array.from({ length: SENDERS }, (_, i) => `s${i}`),
  ];
  const clients = names.map((_, i) => new LoadClient(ports[i % ports.length]!));
  for (let i = 0; i < clients.length; i += 50)
    await Promise.all(clients.slice(i, i + 50).map((c, j) => c.signIn(names[i + j]!)));
  return { receivers: clients.slice(0, RECEIVERS), senders: clients.slice(RECEIVERS) };
}

async function stepUp(
  ctx: BenchContext,
  hub: string,
  ports: number[],
  daemonPids: number[],
  redisPid: number | null,
): Promise<StepResult[]> {
  const { senders, receivers } = await connectLoad(ports);
  const results: StepResult[] = [];
  try {
    for (const rate of RATES) {
      const runs: StepResult[] = [];
      for (let i = 0; i < ctx.options.runs; i++)
        runs.push(await runStep(hub, rate, senders, receivers, ctx.options, daemonPids, redisPid));
      const mid = (f: (r: StepResult) => number) => median(runs.map(f));
      const result: StepResult = {
        hub,
        rate,
        deliveriesPerS: mid((r) => r.deliveriesPerS),
        lostPercent: mid((r) => r.lostPercent),
        p50: mid((r) => r.p50),
        p99: mid((r) => r.p99),
        daemonCores: mid((r) => r.daemonCores),
        redisCores: redisPid === null ? null : mid((r) => r.redisCores ?? 0),
      };
      ctx.log(
        `${hub} ${rate} lines/s: ${fmtNumber(Math.round(result.deliveriesPerS))} deliveries/s, p99 ${result.p99.toFixed(1)} ms`,
      );
      results.push(result);
      // On past the p99 bound, for Redis's CPU at higher rates; a step that loses lines ends it.
      if (result.lostPercent > 5) break;
    }
  } finally {
    for (const c of [...senders, ...receivers]) c.socket.destroy();
  }
  return results;
}

export const cluster: Scenario = {
  name: "cluster",
  title: `cluster: 3 daemons on one Redis against the embedded hub, ${fmtNumber(RECEIVERS)} receivers, ${SENDERS} senders, ${RATES.join("/")} lines/s (on past a p99 of ${P99_LIMIT_MS} ms; a step losing over 5% ends it)`,
  defaultServers: ["tsd"],
  estimateSeconds: (o: BenchOptions, _servers: number, rounds = o.runs) =>
    60 + 2 * RATES.length * rounds * (o.warmupS + o.durationS + 2),
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    if (!which("redis-server")) {
      const why = "redis-server is not installed (apt-get install redis-server): skipped";
      return {
        name: cluster.name,
        title: cluster.title,
        params: {},
        baseline: "embedded",
        text: `${cluster.name}: ${why}`,
        warnings: [why],
        raw: null,
      };
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), "tsd-bench-cluster-"));
    const procs: ChildProcess[] = [];
    const node = process.execPath;
    try {
      // Accounts: one cheap hash for all (sign-in is not what is measured), imported into the cluster.
      const password = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1, keylen: 32 });
      const users: Record<string, unknown> = {};
      const createdAt = new Date().toISOString();
      for (const name of [
        ...Array.from({ length: RECEIVERS }, (_, i) => `r${i}`),
        ...Array.from({ length: SENDERS }, (_, i) => `s${i}`),
      ])
        users[name] = { name, createdAt, lastLoginAt: null, lastAddress: null, password };
      const identities = path.join(dir, "identities.json");
      writeFileSync(identities, JSON.stringify({ version: 1, users }), { mode: 0o600 });

      const redisPort = await freePort();
      const redis = await startProcess(
        "redis-server",
        [
          "--port",
          String(redisPort),
          "--bind",
          "127.0.0.1",
          "--dir",
          dir,
          "--appendonly",
          "yes",
          "--save",
          "",
        ],
        /Ready to accept connections/,
      );
      procs.push(redis.proc);
      const url = `redis://127.0.0.1:${redisPort}`;
      const common = [
        "--chat-port",
        "0",
        "--no-echo",
        "--flood-rate",
        "0",
        "--max-per-address",
        "0",
        "--log-level",
        "warn",
      ];
      const imported = await startProcess(
        node,
        [DAEMON, "--hub", "redis", "--redis-url", url, "--import-identities", identities],
        /imported \d+/,
      );
      void imported;
      const clusterPorts: number[] = [];
      const clusterPids: number[] = [];
      for (const id of ["n1", "n2", "n3"]) {
        const state = path.join(dir, id);
        mkdirSync(state, { recursive: true, mode: 0o700 });
        const d = await startProcess(
          node,
          [
            DAEMON,
            "--hub",
            "redis",
            "--redis-url",
            url,
            "--node-id",
            id,
            "--workers",
            "1",
            "--threads",
            "1",
            "--state-dir",
            state,
            "--socket",
            path.join(state, "control.sock"),
            ...common,
          ],
          /tsd-daemon ready: chat=[^ ]*:(\d+)/,
        );
        procs.push(d.proc);
        clusterPorts.push(Number(d.match[1]));
        clusterPids.push(d.proc.pid!);
      }
      const clusterResults = await stepUp(
        ctx,
        "cluster (3 x 1x1)",
        clusterPorts,
        clusterPids,
        redis.proc.pid!,
      );
      for (const p of procs.splice(0).reverse()) await stopProcess(p);

      const state = path.join(dir, "embedded");
      mkdirSync(state, { recursive: true, mode: 0o700 });
      writeFileSync(path.join(state, "identities.json"), JSON.stringify({ version: 1, users }), {
        mode: 0o600,
      });
      const embedded = await startProcess(
        node,
        [DAEMON, "--state-dir", state, "--socket", path.join(state, "control.sock"), ...common],
        /tsd-daemon ready: chat=[^ ]*:(\d+)/,
      );
      procs.push(embedded.proc);
      const embeddedResults = await stepUp(
        ctx,
        "embedded (1x2)",
        [Number(embedded.match[1])],
        [embedded.proc.pid!],
        null,
      );

      const rows = [...embeddedResults, ...clusterResults].map((r) => [
        r.hub,
        String(r.rate),
        fmtNumber(Math.round(r.deliveriesPerS)),
        `${r.lostPercent.toFixed(2)}%`,
        r.p50.toFixed(1),
        r.p99.toFixed(1),
        r.daemonCores.toFixed(2),
        r.redisCores === null ? "" : r.redisCores.toFixed(2),
        // Redis's CPU per chat line, to set beside cluster-redis's figures from a lighter generator.
        r.redisCores === null ? "" : ((1e6 * r.redisCores) / r.rate).toFixed(1),
      ]);
      const ceiling = (results: StepResult[]) =>
        results.find((r) => r.p99 > P99_LIMIT_MS || r.lostPercent > 1)?.rate ?? null;
      const text = [
        `${cluster.name}: ${cluster.title}`,
        `  ${ctx.options.warmupS} s warm-up, ${ctx.options.durationS} s measured, medians of ${ctx.options.runs}; receivers spread over the daemons; driven from one Node process; nothing pinned`,
        renderTable(
          [
            { header: "hub" },
            { header: "lines/s", align: "right" },
            { header: "deliveries/s", align: "right" },
            { header: "lost", align: "right" },
            { header: "p50 ms", align: "right" },
            { header: "p99 ms", align: "right" },
            { header: "tsd CPU", align: "right" },
            { header: "Redis CPU", align: "right" },
            { header: "Redis µs/line", align: "right" },
          ],
          rows,
        ),
        `  p99 past ${P99_LIMIT_MS} ms (or >1% lost): embedded at ${ceiling(embeddedResults) ?? `none up to ${RATES.at(-1)}`} lines/s, cluster at ${ceiling(clusterResults) ?? `none up to ${RATES.at(-1)}`} lines/s`,
      ].join("\n");
      return {
        name: cluster.name,
        title: cluster.title,
        params: { receivers: RECEIVERS, senders: SENDERS, rates: RATES },
        baseline: "embedded",
        text,
        warnings: [],
        raw: { embedded: embeddedResults, cluster: clusterResults },
      };
    } finally {
      for (const p of procs.reverse()) await stopProcess(p);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
