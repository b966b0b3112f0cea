// cluster-redis: the ceiling of one Redis under a tsd cluster. One redis-server (AOF on, as
// docs/cluster.md asks) gets exactly the commands N daemons send per chat line (the line as
// ChatPublisher.line sends it: the PUBLISH_LINE script, N readers each reading every entry with XREAD BLOCK from its cursor, the
// heartbeats, the moderation check, the senders' activity writes), from bench/cluster-redis-gen.ts:
// a generator without the daemons' per-user work. The offered rate steps up; each step reports the
// rate Redis answered, the send-to-read latency every reader saw, Redis's CPU (INFO cpu) and the
// generator's. The ceiling is the first step whose p99 passes 100 ms, whose answered rate falls
// short of the offered one, or whose lines are not all read; Redis's CPU at its budget there says
// Redis, not the generator, was the limit.
//
// The generator spends about half of Redis's CPU per line, so with a whole core Redis would be
// the limit on a quiet 2-core machine, near 1.0 core; on a shared one the neighbours take CPU from
// both first (the run-queue wait columns say so). The series with a budget run redis-server in a
// cgroup allowed a quarter of a core (bench/cpu-budget.ts; needs root, else skipped with the
// reason): a limit Redis reaches first even on a busy machine. A whole core's ceiling is then that
// rate times 4, which the report labels as scaled.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { disturbed, type GenConfig, pastBound, type StepFigures } from "../cluster-redis-steps.ts";
import { CpuBudget, CpuBudgetUnavailable } from "../cpu-budget.ts";
import { pinned, which } from "../proc.ts";
import { repoRoot } from "../servers.ts";
import { fmtNumber, renderTable } from "../table.ts";
import type { BenchContext, BenchOptions, Scenario, ScenarioReport } from "../types.ts";
import { freePort, startProcess, stopProcess } from "./cluster.ts";

/**
 * The series: daemons (the three of `cluster`, and more: every daemon reads every line) and
 * Redis's CPU budget in cores (null: unrestricted, pinned to its own CPU when pinning is on).
 */
const SERIES: { nodes: number; budget: number | null }[] = [
  { nodes: 3, budget: null },
  { nodes: 3, budget: 0.25 },
  { nodes: 10, budget: 0.25 },
];
const SENDERS = 10;
const RATES = [1000, 2000, 5000, 10_000, 15_000, 20_000, 30_000, 40_000, 60_000, 80_000, 120_000, 160_000];
const P99_LIMIT_MS = 100;
/** Steps past the bound but not by Redis (notRedisLimit) are run again, at most this many per series. */
const RETRIES = 3;
/** Redis at or above this share of its core or budget: Redis is the limit. */
const SATURATED = 0.9;
const GENERATOR = path.join(repoRoot, "bench", "cluster-redis-gen.ts");

interface Series {
  nodes: number;
  /** Redis's CPU budget in cores; null: unrestricted. */
  budget: number | null;
  steps: StepFigures[];
  /** The first step past the bound, and what was saturated there. */
  ceiling: { offered: number; limit: string } | null;
  error: string | null;
}

function passed(step: StepFigures): boolean {
  return pastBound(step, { p99LimitMs: P99_LIMIT_MS });
}

function limitOf(step: StepFigures, budget: number | null): string {
  if (budget === null ? step.redisMainCores >= SATURATED : step.redisCores >= SATURATED * budget)
    return "Redis";
  if (step.genCores >= SATURATED) return "the generator";
  if (disturbed(step)) return "other load on the machine (starved)";
  return "neither saturated";
}

/** Runs the generator against a fresh redis-server; resolves with its steps. */
async function runSeries(
  ctx: BenchContext,
  nodes: number,
  budgetCores: number | null,
  timeoutMs: number,
): Promise<Series> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tsd-bench-cluster-redis-"));
  const procs: ChildProcess[] = [];
  let budget: CpuBudget | null = null;
  // Ctrl-C or the run's watchdog exits the bench at once: Redis, the generator and the
  // temporary directory go with it (the cgroup is left if Redis has not died yet: named by pid).
  const killAll = () => {
    for (const p of procs)
      try {
        process.kill(-p.pid!, "SIGKILL");
      } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", killAll);
  const steps: StepFigures[] = [];
  let error: string | null = null;
  try {
    const port = await freePort();
    const [redisCmd, redisArgs] = pinned(ctx.pinning.serverCpus, "redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "everysec",
      "--save",
      "",
      "--maxmemory-policy",
      "noeviction",
    ]);
    const redis = await startProcess(redisCmd, redisArgs, /Ready to accept connections/);
    procs.push(redis.proc);
    if (budgetCores !== null) {
      budget = CpuBudget.create(`tsd-bench-redis-${process.pid}-${nodes}`, budgetCores);
      budget.add(redis.proc.pid!);
    }
    const config: GenConfig = {
      port,
      cluster: "bench",
      nodes,
      senders: SENDERS,
      rates: RATES,
      warmupS: ctx.options.warmupS,
      durationS: ctx.options.durationS,
      p99LimitMs: P99_LIMIT_MS,
      redisCores: budgetCores ?? 1,
      retries: RETRIES,
      ...(budget ? { budgetStat: budget.statFile } : {}),
    };
    const [genCmd, genArgs] = pinned(ctx.pinning.loadgenCpus, process.execPath, [
      GENERATOR,
      JSON.stringify(config),
    ]);
    const gen = spawn(genCmd, genArgs, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    procs.push(gen);
    let stderr = "";
    gen.stderr!.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    await new Promise<void>((resolve) => {
      let out = "";
      const timer = setTimeout(() => {
        error = `the generator did not finish in ${Math.round(timeoutMs / 1000)} s`;
        resolve();
      }, timeoutMs);
      gen.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        for (let nl = out.indexOf("\n"); nl !== -1; nl = out.indexOf("\n")) {
          const message = JSON.parse(out.slice(0, nl)) as { step?: StepFigures; done?: boolean };
          out = out.slice(nl + 1);
          if (message.step) {
            const s = message.step;
            steps.push(s);
            ctx.log(
              `cluster-redis ${nodes} daemons, ${fmtNumber(s.offered)} lines/s offered: ${fmtNumber(Math.round(s.achieved))} answered/s, p99 ${s.p99Ms.toFixed(1)} ms, Redis ${s.redisMainCores.toFixed(2)} cores, generator ${s.genCores.toFixed(2)}`,
            );
          }
        }
      });
      gen.once("exit", (code) => {
        clearTimeout(timer);
        if (code !== 0) error = `the generator exited with ${code}: ${stderr.trim()}`;
        resolve();
      });
    });
  } catch (e) {
    // No budget possible here: the series is skipped with the reason (run() says so).
    if (e instanceof CpuBudgetUnavailable) throw e;
    error = (e as Error).message;
  } finally {
    for (const p of procs.reverse()) await stopProcess(p);
    process.off("exit", killAll);
    budget?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  const over = steps.find(passed);
  return {
    nodes,
    budget: budgetCores,
    steps,
    ceiling: over ? { offered: over.offered, limit: limitOf(over, budgetCores) } : null,
    error,
  };
}

function stepSeconds(o: BenchOptions): number {
  return o.warmupS + o.durationS + 2;
}

export const clusterRedis: Scenario = {
  name: "cluster-redis",
  title: `cluster-redis: one Redis (AOF on) under the commands of ${SERIES.map((s) => `${s.nodes} daemons${s.budget === null ? "" : ` (Redis at ${s.budget} core)`}`).join(", ")}; ${SENDERS} senders; offered ${fmtNumber(RATES[0]!)} to ${fmtNumber(RATES.at(-1)!)} lines/s until p99 > ${P99_LIMIT_MS} ms, Redis answers fewer than offered, or a reader misses lines`,
  // Starts its own redis-server (AOF on, its settings in the report), not the `redis` peer.
  defaultServers: [],
  estimateSeconds: (o: BenchOptions) => 10 + SERIES.length * (5 + RATES.length * stepSeconds(o)),
  async run(ctx: BenchContext): Promise<ScenarioReport> {
    if (!which("redis-server")) {
      const why = "redis-server is not installed (apt-get install redis-server): skipped";
      return {
        name: clusterRedis.name,
        title: clusterRedis.title,
        params: {},
        baseline: "redis",
        text: `${clusterRedis.name}: ${why}`,
        warnings: [why],
        raw: null,
      };
    }
    const loadBefore = os.loadavg();
    const series: Series[] = [];
    const skipped: string[] = [];
    const timeoutMs = 30_000 + RATES.length * (stepSeconds(ctx.options) + 12) * 1000;
    for (const { nodes, budget } of SERIES) {
      try {
        series.push(await runSeries(ctx, nodes, budget, timeoutMs));
      } catch (error) {
        if (!(error instanceof CpuBudgetUnavailable)) throw error;
        skipped.push(`  ${nodes} daemons, Redis at ${budget} of a core: not run: ${error.message}`);
      }
    }
    const loadAfter = os.loadavg();
    const budgetText = (b: number | null) => (b === null ? "core" : `${b} core`);
    const rows = series.flatMap((s) =>
      s.steps.map((r) => [
        String(s.nodes),
        budgetText(s.budget),
        fmtNumber(r.offered),
        fmtNumber(Math.round(r.achieved)),
        `${(100 * r.readShare).toFixed(1)}%`,
        r.p50Ms.toFixed(1),
        r.p99Ms.toFixed(1),
        r.maxMs.toFixed(0),
        r.redisMainCores.toFixed(2),
        r.redisCores.toFixed(2),
        r.achieved > 0 ? ((1e6 * r.redisCores) / r.achieved).toFixed(1) : "",
        r.genCores.toFixed(2),
        `${(r.redisWaitCores - r.redisThrottledCores).toFixed(2)}/${r.genWaitCores.toFixed(2)}`,
        String(r.retried),
        r.load1.toFixed(1),
        passed(r) ? `<- ${limitOf(r, s.budget)}` : "",
      ]),
    );
    const warnings: string[] = [];
    const verdicts = series.map((s) => {
      const label = `${s.nodes} daemons, Redis ${s.budget === null ? "on a whole core" : `at ${s.budget} of a core`}`;
      if (s.error) warnings.push(`${label}: ${s.error}`);
      const last = s.steps.filter((r) => !passed(r)).at(-1);
      const within = last ? `${fmtNumber(last.offered)} lines/s` : "none";
      if (!s.ceiling)
        return `  ${label}: the bound not passed up to ${fmtNumber(s.steps.at(-1)?.offered ?? 0)} lines/s${s.error ? ` (${s.error})` : ""}`;
      if (s.ceiling.limit !== "Redis") {
        warnings.push(`${label}: the bound was passed with ${s.ceiling.limit} as the limit, not Redis`);
        return `  ${label}: passed at ${fmtNumber(s.ceiling.offered)} lines/s, but the limit was ${s.ceiling.limit}, not Redis: the last step within it (${within}) is a floor for Redis, not its ceiling`;
      }
      const scaled =
        s.budget !== null && last
          ? `; scaled to a whole core (not measured): about ${fmtNumber(Math.round(last.offered / s.budget))} lines/s`
          : "";
      return `  ${label}: Redis was the limit at ${fmtNumber(s.ceiling.offered)} lines/s; last step within the bound: ${within}${scaled}`;
    });
    const text = [
      `${clusterRedis.name}: ${clusterRedis.title}`,
      `  per step ${ctx.options.warmupS} s warm-up, ${ctx.options.durationS} s measured, one run; ${ctx.pinning.enabled ? `Redis on CPU ${ctx.pinning.serverCpus}, the generator on CPU ${ctx.pinning.loadgenCpus}` : "nothing pinned"}; load average ${loadBefore[0]!.toFixed(1)} before, ${loadAfter[0]!.toFixed(1)} after`,
      renderTable(
        [
          { header: "daemons", align: "right" },
          { header: "Redis on", align: "right" },
          { header: "offered/s", align: "right" },
          { header: "answered/s", align: "right" },
          { header: "read", align: "right" },
          { header: "p50 ms", align: "right" },
          { header: "p99 ms", align: "right" },
          { header: "max ms", align: "right" },
          { header: "Redis main", align: "right" },
          { header: "Redis all", align: "right" },
          { header: "µs/line", align: "right" },
          { header: "gen CPU", align: "right" },
          { header: "waited R/g", align: "right" },
          { header: "again", align: "right" },
          { header: "load", align: "right" },
          { header: "" },
        ],
        rows,
      ),
      "  Redis on: a whole core, or a cgroup quota of that share of one; Redis main: its main thread (every command runs there), all: the process (with the AOF fsync thread), cores from INFO cpu; µs/line: the process's CPU per answered line (as in `cluster`); latency: from the line's due time to its read by each reader; read: the lines of the window read by every reader; waited R/g: time Redis's main thread and the generator's were runnable but got no CPU (schedstat; for Redis less its budget's hold), cores: other load; again: tries of the step dropped because they passed the bound while other load took a fifth of a core or more, or Redis used under half its core or budget (at most " +
        RETRIES +
        " a series)",
      ...verdicts,
      ...skipped,
    ].join("\n");
    return {
      name: clusterRedis.name,
      title: clusterRedis.title,
      params: { series: SERIES, senders: SENDERS, rates: RATES, p99LimitMs: P99_LIMIT_MS },
      baseline: "redis",
      text,
      warnings,
      raw: { loadBefore, loadAfter, series },
    };
  },
};
