// Echo (RFC 862) throughput and latency: tsd against other echo servers,
// driven by the C load generator. Two scenarios share this code:
//   echo-pingpong  50 connections, one 64-byte message in flight each
//   echo-bulk       8 connections, eight 16 KiB messages in flight each
import os from "node:os";
import { type LoadgenParams, type LoadgenResult, runLoadgen } from "../loadgen.ts";
import { type RunningServer, SERVERS, type StopReport, sleep } from "../servers.ts";
import { allowedCpus, cpuBetween, cpuTimes, parseCpuList, processSnapshot, processTree } from "../proc.ts";
import { max, median, min, ratio, spread } from "../stats.ts";
import { type Column, fmtNumber, fmtPercent, fmtRatio, renderTable } from "../table.ts";
import type { BenchContext, BenchOptions, Scenario, ScenarioReport } from "../types.ts";

/** Above this share of one core the load generator itself may be what limits the numbers. */
const LOADGEN_CPU_LIMIT = 0.9;

interface RunRecord {
  round: number;
  /** Server CPU (all its processes) over the measured window, in cores. */
  server_cpu_cores: number;
  /**
   * Busy time of all the CPUs the benchmark may use, minus the server's and the
   * load generator's CPU, in cores: other processes (including short-lived
   * ones) and kernel work charged to neither.
   */
  other_cpu_cores: number;
  /** Idle share of the load generator's CPU (when pinned): near 0 means its core was full. */
  loadgen_core_idle: number;
  /** Idle time of the server's CPUs (when pinned), in cores. */
  server_cpus_idle: number;
  /** true when this run's round was dropped as the most disturbed one (see excludeWorstRounds). */
  excluded?: boolean;
  loadgen_exit: number | null;
  loadgen_stderr?: string;
  result?: LoadgenResult;
}

interface Summary {
  msgs_per_s: number;
  mb_per_s: number;
  mean_us: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  loadgen_cpu: number;
  loadgen_cpu_max: number;
  loadgen_cpu_user: number;
  /** Lowest idle share of the load generator's core in any run: near 0 = its core was full. */
  loadgen_core_idle_min: number;
  server_cpu_cores: number;
  /** Other processes on the machine, in cores. */
  other_load_cores: number;
  msgs_per_s_spread: number;
  errors: number;
  good_runs: number;
}

interface ServerRecord {
  id: string;
  label: string;
  describe: string;
  status: "ok" | "unavailable" | "failed";
  error?: string;
  command?: string[];
  ready_line?: string;
  stop?: StopReport;
  runs: RunRecord[];
  median?: Summary;
  /** Paired ratios to the baseline (see pairedRatio). */
  ratios?: Record<string, number>;
}

/** A round whose worst run had more other load than this (in cores) counts as disturbed. */
const DISTURBED = 0.2;

/** How disturbed each round was: its worst run's other load, +1 if the load generator was starved. */
function roundScores(records: ServerRecord[]): Map<number, number> {
  const scores = new Map<number, number>();
  for (const rec of records)
    for (const run of rec.runs) {
      const starved =
        run.loadgen_core_idle < 1 - LOADGEN_CPU_LIMIT && (run.result?.loadgen_cpu ?? 0) <= LOADGEN_CPU_LIMIT;
      const score = (Number.isFinite(run.other_cpu_cores) ? run.other_cpu_cores : 0) + (starved ? 1 : 0);
      scores.set(run.round, Math.max(scores.get(run.round) ?? 0, score));
    }
  return scores;
}

/** Keep the `keep` least disturbed rounds; mark the runs of the others excluded. */
function excludeWorstRounds(records: ServerRecord[], keep: number): void {
  const scores = roundScores(records);
  const kept = new Set(
    [...scores.entries()]
      .sort((x, y) => x[1] - y[1] || x[0] - y[0])
      .slice(0, keep)
      .map(([round]) => round),
  );
  for (const rec of records) for (const run of rec.runs) if (!kept.has(run.round)) run.excluded = true;
}

function summarize(all: RunRecord[]): Summary | undefined {
  const runs = all.filter((r) => !r.excluded);
  const good = runs.flatMap((r) => (r.result && r.result.msgs > 0 ? [{ ...r, result: r.result }] : []));
  if (good.length === 0) return undefined;
  const pick = (f: (r: LoadgenResult) => number) => good.map((r) => f(r.result));
  const finite = (xs: number[]) => xs.filter(Number.isFinite);
  return {
    msgs_per_s: median(pick((r) => r.msgs_per_s)),
    mb_per_s: median(pick((r) => r.mb_per_s)),
    mean_us: median(pick((r) => r.mean_us)),
    p50_us: median(pick((r) => r.p50_us)),
    p99_us: median(pick((r) => r.p99_us)),
    p999_us: median(pick((r) => r.p999_us)),
    loadgen_cpu: median(pick((r) => r.loadgen_cpu)),
    loadgen_cpu_max: max(pick((r) => r.loadgen_cpu)),
    loadgen_cpu_user: median(pick((r) => r.loadgen_cpu_user)),
    loadgen_core_idle_min: min(finite(good.map((r) => r.loadgen_core_idle))),
    server_cpu_cores: median(finite(good.map((r) => r.server_cpu_cores))),
    other_load_cores: median(finite(good.map((r) => r.other_cpu_cores))),
    msgs_per_s_spread: spread(pick((r) => r.msgs_per_s)),
    errors: runs.reduce((n, r) => n + (r.result ? r.result.conn_errors + r.result.verify_errors : 1), 0),
    good_runs: good.length,
  };
}

function idleDelta(a: { idle: number } | undefined, b: { idle: number } | undefined): number | undefined {
  return a && b ? b.idle - a.idle : undefined;
}

const RATIO_METRICS = ["msgs_per_s", "mb_per_s", "p50_us", "p99_us"] as const;

/**
 * Ratio of `rec` to the baseline for one metric: the median over rounds of
 * (this server's run / the baseline's run in the same round). Runs of one round
 * follow each other within seconds, so pairing them cancels most of the slow
 * drift of a noisy machine. Falls back to the ratio of the medians.
 */
function pairedRatio(
  rec: ServerRecord,
  base: ServerRecord | undefined,
  metric: (typeof RATIO_METRICS)[number],
): number {
  if (!base?.median || !rec.median) return Number.NaN;
  if (base === rec) return 1;
  const pairs: number[] = [];
  for (const run of rec.runs) {
    if (run.excluded) continue;
    const other = base.runs.find((b) => b.round === run.round);
    if (run.result && other?.result && run.result.msgs > 0 && other.result.msgs > 0)
      pairs.push(ratio(run.result[metric], other.result[metric]));
  }
  const finite = pairs.filter(Number.isFinite);
  return finite.length > 0 ? median(finite) : ratio(rec.median[metric], base.median[metric]);
}

function fmtUs(us: number): string {
  return Number.isFinite(us) ? fmtNumber(us) : "-";
}

function echoScenario(
  name: string,
  title: string,
  shape: Omit<LoadgenParams, "durationS" | "warmupS">,
): Scenario {
  return {
    name,
    title,
    defaultServers: ["tsd", "tsd-w2t1", "node-echo"],
    estimateSeconds: (o: BenchOptions, servers: number, rounds = o.runs) =>
      servers * (rounds * (o.durationS + o.warmupS + 0.6) + 2),
    async run(ctx: BenchContext, serverIds: string[]): Promise<ScenarioReport> {
      const { options, pinning } = ctx;
      const params: LoadgenParams = { ...shape, durationS: options.durationS, warmupS: options.warmupS };
      const records: ServerRecord[] = [];
      const running = new Map<string, RunningServer>();
      const warnings: string[] = [];
      const loadBefore = os.loadavg();
      const serverCpuList = pinning.serverCpus ? parseCpuList(pinning.serverCpus) : undefined;
      const loadgenCpuList = pinning.loadgenCpus ? parseCpuList(pinning.loadgenCpus) : undefined;
      const benchCpus = allowedCpus();

      // Start every server first, then interleave their runs round by round, so
      // slow drift in a noisy machine's background load hits all of them alike.
      try {
        for (const id of serverIds) {
          const kind = SERVERS[id]!;
          const rec: ServerRecord = {
            id,
            label: kind.label,
            describe: kind.describe,
            status: "ok",
            runs: [],
          };
          records.push(rec);
          const why = kind.services.includes("echo") ? kind.unavailable() : "it has no echo service";
          if (why) {
            rec.status = "unavailable";
            rec.error = why;
            ctx.log(`${name}: ${id} skipped: ${why}`);
            continue;
          }
          try {
            const server = await kind.start({ services: ["echo"], cpus: pinning.serverCpus });
            if (!server.endpoints.echo) {
              await server.stop();
              throw new Error(`${id}: ready line has no echo=HOST:PORT: ${server.readyLine}`);
            }
            rec.command = server.command;
            rec.ready_line = server.readyLine;
            running.set(id, server);
            ctx.log(`${name}: started ${id} (pid ${server.pid}, echo port ${server.endpoints.echo.port})`);
          } catch (err) {
            rec.status = "failed";
            rec.error = (err as Error).message;
            ctx.log(`${name}: ${id} failed to start: ${rec.error}`);
          }
        }

        const active = records.filter((r) => r.status === "ok");
        const runRound = async (round: number) => {
          const order = active.map((_, i) => active[(i + round) % active.length]!);
          for (const rec of order) {
            if (rec.status !== "ok") continue;
            const server = running.get(rec.id)!;
            const run = await runLoadgen(ctx.loadgen, server.endpoints.echo!, params, {
              cpus: pinning.loadgenCpus,
              sample: (loadgenPid) => ({
                loadgenPid,
                procs: processSnapshot(),
                all: cpuTimes(benchCpus),
                server: serverCpuList ? cpuTimes(serverCpuList) : undefined,
                loadgen: loadgenCpuList ? cpuTimes(loadgenCpuList) : undefined,
              }),
            });
            const r = run.result;
            const a = run.sampleAtStart;
            const b = run.sampleAtEnd;
            const perS = (x: number | undefined) =>
              r && x !== undefined ? Math.max(0, x / r.seconds) : Number.NaN;
            let serverCpu = Number.NaN;
            if (a && b) {
              const tree = new Set([
                ...processTree(a.procs, server.pid),
                ...processTree(b.procs, server.pid),
              ]);
              serverCpu = perS(cpuBetween(a.procs, b.procs, tree));
            }
            rec.runs.push({
              round: round + 1,
              server_cpu_cores: serverCpu,
              other_cpu_cores:
                a && b && r
                  ? Math.max(0, perS(b.all.busy - a.all.busy) - serverCpu - r.loadgen_cpu)
                  : Number.NaN,
              loadgen_core_idle: perS(idleDelta(a?.loadgen, b?.loadgen)),
              server_cpus_idle: perS(idleDelta(a?.server, b?.server)),
              loadgen_exit: run.exitCode,
              ...(run.stderr.trim() ? { loadgen_stderr: run.stderr.trim() } : {}),
              ...(r ? { result: r } : {}),
            });
            ctx.log(
              `${name}: ${round < options.runs ? `run ${round + 1}/${options.runs}` : `extra run ${round + 1 - options.runs}`} ${rec.id}: ` +
                (r
                  ? `${fmtNumber(r.msgs_per_s)} msgs/s, ${fmtNumber(r.mb_per_s)} MB/s, p50 ${fmtUs(r.p50_us)} µs, ` +
                    `p99 ${fmtUs(r.p99_us)} µs, loadgen CPU ${fmtPercent(r.loadgen_cpu)}` +
                    (r.conn_errors + r.verify_errors > 0
                      ? `, ${r.conn_errors} connection errors, ${r.verify_errors} echo mismatches`
                      : "")
                  : `no result (${run.stderr.trim().split("\n").pop() || `loadgen exit ${run.exitCode}`})`),
            );
            if (!r && rec.runs.filter((x) => !x.result).length >= 2) {
              rec.status = "failed";
              rec.error = `load generator failed twice: ${run.stderr.trim()}`;
            }
            await sleep(300);
          }
        };
        for (let round = 0; round < options.runs; round++) await runRound(round);
        // A round disturbed by other load on the machine is repeated (at most
        // options.extraRounds times); the least disturbed rounds are kept.
        for (let extra = 0; extra < options.extraRounds; extra++) {
          const scores = roundScores(records);
          const clean = [...scores.values()].filter((x) => x <= DISTURBED).length;
          if (clean >= options.runs) break;
          ctx.log(`${name}: ${scores.size - clean} round(s) disturbed by other load, running an extra round`);
          await runRound(options.runs + extra);
        }
        excludeWorstRounds(records, options.runs);
      } finally {
        for (const rec of records) {
          const server = running.get(rec.id);
          if (!server) continue;
          rec.stop = await server.stop();
          if (rec.stop.forced || (rec.stop.exitCode !== 0 && rec.stop.signal !== "SIGTERM"))
            warnings.push(
              `${rec.id} did not stop cleanly on SIGTERM (exit ${rec.stop.exitCode}, signal ${rec.stop.signal}` +
                `${rec.stop.forced ? ", process group killed" : ""})`,
            );
        }
      }

      for (const rec of records) rec.median = summarize(rec.runs);
      const rep = report(name, title, params, records, warnings, pinning.loadgenCpus, serverCpuList?.length);
      rep.raw = { ...(rep.raw as object), loadavg_before: loadBefore, loadavg_after: os.loadavg() };
      return rep;
    },
  };
}

function report(
  name: string,
  title: string,
  params: LoadgenParams,
  records: ServerRecord[],
  warnings: string[],
  loadgenCpu: string | undefined,
  serverCores: number | undefined,
): ScenarioReport {
  const baselineId = records[0]?.id ?? "tsd";
  const baseRec = records[0];
  const base = baseRec?.median;
  const vs = `ratio to ${records[0]?.label ?? "tsd"}`;
  const columns: Column[] = [
    { header: "server" },
    { header: "msgs/s" },
    { header: "MB/s" },
    { header: "p50 µs" },
    { header: "p99 µs" },
    { header: "msgs/s", group: vs },
    { header: "MB/s", group: vs },
    { header: "p50", group: vs },
    { header: "p99", group: vs },
    { header: "loadgen CPU" },
    { header: "server CPU" },
    { header: "other load" },
    { header: "spread" },
    { header: "errors" },
  ];
  const rows: string[][] = [];
  const notes: string[] = [];
  const cores = (n: number) => `${n} core${n === 1 ? "" : "s"}`;
  const measured = records.filter((r) => r.median);
  // Rows where the load generator may have limited the figures: it used more
  // than LOADGEN_CPU_LIMIT of its core itself, or other processes filled its core.
  const selfBound = measured.filter((r) => r.median!.loadgen_cpu_max > LOADGEN_CPU_LIMIT);
  const starvedLoadgen = measured.filter(
    (r) => !selfBound.includes(r) && r.median!.loadgen_core_idle_min < 1 - LOADGEN_CPU_LIMIT,
  );

  for (const rec of records) {
    const m = rec.median;
    if (!m) {
      notes.push(`${rec.label}: not measured: ${rec.error ?? "no successful run"}`);
      if (rec.status === "failed") warnings.push(`${rec.id}: ${rec.error ?? "no successful run"}`);
      continue;
    }
    const ratios = Object.fromEntries(RATIO_METRICS.map((k) => [k, pairedRatio(rec, baseRec, k)]));
    rec.ratios = ratios;
    const flag = selfBound.includes(rec) || starvedLoadgen.includes(rec) ? " !" : "";
    rows.push([
      rec.label,
      fmtNumber(m.msgs_per_s),
      fmtNumber(m.mb_per_s),
      fmtUs(m.p50_us),
      fmtUs(m.p99_us),
      ...RATIO_METRICS.map((k) => fmtRatio(ratios[k]!)),
      `${fmtPercent(m.loadgen_cpu)} (${fmtPercent(m.loadgen_cpu_user)} usr)${flag}`,
      Number.isFinite(m.server_cpu_cores) ? `${m.server_cpu_cores.toFixed(2)} cores` : "-",
      Number.isFinite(m.other_load_cores) ? `${m.other_load_cores.toFixed(2)} cores` : "-",
      fmtPercent(m.msgs_per_s_spread),
      String(m.errors),
    ]);
    if (m.errors > 0)
      warnings.push(`${rec.label}: ${m.errors} errors (closed connections, wrong echo bytes or failed runs)`);
    const used = rec.runs.filter((r) => !r.excluded).length;
    if (m.good_runs < Math.max(1, used))
      notes.push(`${rec.label}: only ${m.good_runs} of ${used} runs produced a result`);
  }
  if (!base) notes.push(`no ratios: the baseline ${baselineId} was not measured`);

  const dropped = [...new Set(records.flatMap((r) => r.runs.filter((x) => x.excluded).map((x) => x.round)))];
  if (dropped.length > 0) {
    const describe = (round: number) => {
      const runs = records.flatMap((r) => r.runs.filter((x) => x.round === round));
      const other = Math.max(0, ...runs.map((x) => x.other_cpu_cores).filter(Number.isFinite));
      const starved = runs.some((x) => x.loadgen_core_idle < 1 - LOADGEN_CPU_LIMIT);
      return `round ${round}: other load up to ${other.toFixed(2)} cores${starved ? ", load generator starved" : ""}`;
    };
    notes.push(
      `dropped as the most disturbed, replaced by extra rounds: ${dropped.map(describe).join("; ")}.`,
    );
  }

  // The load generator's own CPU is the evidence that it is not the bottleneck.
  if (measured.length > 0) {
    const worst = Math.max(...measured.map((r) => r.median!.loadgen_cpu_max));
    const worstUser = Math.max(
      ...measured.flatMap((r) => r.runs.map((x) => x.result?.loadgen_cpu_user ?? 0)),
    );
    const where = loadgenCpu !== undefined ? `, pinned to CPU ${loadgenCpu}` : ", not pinned";
    const head =
      `load generator: single-threaded C/epoll${where}; its busiest run used ${fmtPercent(worst)} of one core ` +
      `(user space at most ${fmtPercent(worstUser)}, the rest is the kernel's loopback TCP work any client pays)`;
    if (selfBound.length === 0 && starvedLoadgen.length === 0)
      notes.push(`${head}. It always had idle time waiting for the server, so it was NOT the bottleneck.`);
    else if (selfBound.length > 0) {
      const msg =
        `load generator may be the bottleneck: it used more than ${fmtPercent(LOADGEN_CPU_LIMIT)} of its core ` +
        `against ${selfBound.map((r) => r.label).join(", ")} (rows marked !); those rows understate the server.`;
      notes.push(`${head}.`, `WARNING: ${msg}`);
      warnings.push(msg);
    }
    if (starvedLoadgen.length > 0) {
      const msg =
        `load generator may have been starved: its core had less than ${fmtPercent(1 - LOADGEN_CPU_LIMIT)} ` +
        `idle time (other processes took the rest) in runs against ` +
        `${starvedLoadgen.map((r) => r.label).join(", ")} (rows marked !); those rows may understate the server.`;
      if (selfBound.length === 0) notes.push(`${head}, so by itself it was not the bottleneck.`);
      notes.push(`WARNING: ${msg}`);
      warnings.push(msg);
    }
  }
  if (serverCores !== undefined) {
    const saturated = measured.filter((r) => r.median!.server_cpu_cores >= 0.9 * serverCores);
    if (saturated.length > 0)
      notes.push(
        `${saturated.map((r) => `${r.label} used ${r.median!.server_cpu_cores.toFixed(2)}`).join(", ")} ` +
          `of the ${cores(serverCores)} each server was given: the server was the limit, so ` +
          `${saturated.length === 1 ? "that row is its" : "those rows are their"} capacity on ${cores(serverCores)}.`,
      );
    // Neither side saturated: something else limited the run, usually other
    // processes on this machine ("other load"), or wake-up latency.
    const neither = measured.filter(
      (r) =>
        !selfBound.includes(r) &&
        !starvedLoadgen.includes(r) &&
        r.median!.server_cpu_cores < 0.85 * serverCores,
    );
    if (neither.length > 0) {
      const other = Math.max(0, ...neither.map((r) => r.median!.other_load_cores).filter(Number.isFinite));
      notes.push(
        `${neither.map((r) => r.label).join(", ")}: neither the server (< 85% of its ${cores(serverCores)}) ` +
          `nor the load generator was saturated` +
          (other >= 0.05
            ? `; other processes used up to ${other.toFixed(2)} cores meanwhile, so the machine was busy`
            : "; the limit was wake-up latency between the two") +
          `. Check "spread" before trusting small ratios.`,
      );
    }
  }
  for (const w of warnings) if (!notes.some((n) => n.includes(w))) notes.push(`WARNING: ${w}`);

  const text = [
    `${name}: ${title}`,
    `  ${params.durationS} s measured after ${params.warmupS} s warm-up per run; medians over the runs of each server`,
    "",
    renderTable(columns, rows)
      .split("\n")
      .map((l) => `  ${l}`)
      .join("\n"),
    "",
    ...notes.map((n) => `  * ${n}`),
  ].join("\n");

  return {
    name,
    title,
    params: { ...params },
    baseline: baselineId,
    text,
    warnings,
    raw: { servers: records },
  };
}

export const echoPingpong = echoScenario(
  "echo-pingpong",
  "echo ping-pong, 50 connections, 64-byte messages, 1 in flight per connection",
  { mode: "pingpong", conns: 50, size: 64, inflight: 1 },
);

export const echoBulk = echoScenario(
  "echo-bulk",
  "echo bulk, 8 connections, 16 KiB messages, 8 in flight per connection",
  { mode: "bulk", conns: 8, size: 16384, inflight: 8 },
);
