// Building and running the C load generator (bench/loadgen.c).
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { ensureBuilt } from "./build-c.ts";
import { pinned } from "./proc.ts";
import { repoRoot } from "./servers.ts";

export const loadgenSource = path.join(repoRoot, "bench", "loadgen.c");
export const loadgenBinary = path.join(repoRoot, "bench", "build", "loadgen");

/** Compile bench/build/loadgen with `cc -O2` if it is missing or older than its source. */
export function ensureLoadgen(log: (msg: string) => void): string {
  return ensureBuilt(loadgenSource, loadgenBinary, "load generator", log);
}

const liveChildren = new Set<ChildProcess>();

/** Kill every load generator still running (on Ctrl-C or the watchdog). */
export function killLoadgens(): void {
  for (const child of liveChildren) child.kill("SIGKILL");
}

export interface LoadgenParams {
  mode: "pingpong" | "bulk";
  conns: number;
  size: number;
  inflight: number;
  durationS: number;
  warmupS: number;
}

/** The JSON line loadgen prints (see the comment at the top of loadgen.c). */
export interface LoadgenResult {
  mode: string;
  conns: number;
  size: number;
  inflight: number;
  msgs: number;
  bytes: number;
  seconds: number;
  msgs_per_s: number;
  mb_per_s: number;
  mean_us: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  loadgen_cpu: number;
  loadgen_cpu_user: number;
  loadgen_cpu_sys: number;
  conn_errors: number;
  verify_errors: number;
}

export interface LoadgenRun<T = number> {
  result?: LoadgenResult;
  exitCode: number | null;
  stderr: string;
  /** Value of `sample()` when the measured window started and when loadgen finished. */
  sampleAtStart?: T;
  sampleAtEnd?: T;
}

/**
 * Run loadgen once against host:port. `sample` (e.g. a snapshot of CPU use;
 * it gets loadgen's pid) is called when loadgen announces the start of its measured window and again
 * when it prints its result, so the caller can relate it to the same window.
 * The run is killed if it overruns its own duration by more than 20 s.
 */
export function runLoadgen<T = number>(
  binary: string,
  target: { host: string; port: number },
  p: LoadgenParams,
  opts: { cpus?: string; sample?: (loadgenPid: number) => T } = {},
): Promise<LoadgenRun<T>> {
  const args = [
    "--host",
    target.host,
    "--port",
    String(target.port),
    "--mode",
    p.mode,
    "--conns",
    String(p.conns),
    "--size",
    String(p.size),
    "--inflight",
    String(p.inflight),
    "--duration",
    String(p.durationS),
    "--warmup",
    String(p.warmupS),
    "--connect-timeout",
    "5",
  ];
  const [cmd, fullArgs] = pinned(opts.cpus, binary, args);
  return new Promise((resolve) => {
    const child = spawn(cmd, fullArgs, { stdio: ["ignore", "pipe", "pipe"] });
    liveChildren.add(child);
    const run: LoadgenRun<T> = { exitCode: null, stderr: "" };
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      if (run.stderr.length < 4000) run.stderr += d;
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (line === "measuring") run.sampleAtStart = opts.sample?.(child.pid!);
      else if (line.startsWith("{")) {
        run.sampleAtEnd = opts.sample?.(child.pid!);
        try {
          run.result = JSON.parse(line) as LoadgenResult;
        } catch {
          run.stderr += `unparsable result line: ${line}\n`;
        }
      }
    });
    const killer = setTimeout(
      () => {
        run.stderr += "loadgen overran its time limit and was killed\n";
        child.kill("SIGKILL");
      },
      (p.durationS + p.warmupS + 5 + 20) * 1000,
    );
    child.on("error", (err) => {
      clearTimeout(killer);
      liveChildren.delete(child);
      run.stderr += `${err.message}\n`;
      resolve(run);
    });
    child.on("close", (code) => {
      clearTimeout(killer);
      liveChildren.delete(child);
      run.exitCode = code;
      resolve(run);
    });
  });
}
