// Starting and stopping the servers under test. Each kind of server is a
// ServerKind; scenarios pick them by id. To add a peer (ncat, ngircd, redis...),
// add a ServerKind here: `start` must resolve once the server accepts
// connections and report where, and `stop` must leave no process behind.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { pinned, treeCpuSeconds } from "./proc.ts";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export type Service = "echo" | "chat";

export interface Endpoint {
  host: string;
  port: number;
}

export interface StartOptions {
  /** Services the scenario needs (tsd is started with only these enabled). */
  services: readonly Service[];
  /** taskset CPU list, or undefined for no pinning. */
  cpus?: string;
  /** How long to wait for the ready line. */
  readyTimeoutMs?: number;
}

export interface RunningServer {
  id: string;
  pid: number;
  endpoints: Partial<Record<Service, Endpoint>>;
  /** The ready line as printed, for the record. */
  readyLine: string;
  /** The full command line, for the record. */
  command: string[];
  /** CPU seconds used so far by the server and all its descendants. */
  cpuSeconds(): number;
  stop(): Promise<StopReport>;
}

export interface StopReport {
  exitCode: number | null;
  signal: string | null;
  /** true when SIGTERM was not enough and the process group had to be killed. */
  forced: boolean;
  /** Milliseconds from SIGTERM until the process (group) was gone. */
  stopMs: number;
  /** stderr tail, for diagnosing an unclean stop. */
  stderrTail: string;
}

export interface ServerKind {
  id: string;
  /** Short label for tables. */
  label: string;
  /** One line for the report: what this server is and how it is configured. */
  describe: string;
  services: readonly Service[];
  /** A reason the server cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  start(opts: StartOptions): Promise<RunningServer>;
}

// ---------------------------------------------------------------------------
// Generic "spawn a process that prints a ready line" machinery

const live = new Set<RunningServer>();

/** Stop every server still running (used on Ctrl-C, on errors and by the watchdog). */
export async function stopAllServers(): Promise<void> {
  await Promise.allSettled([...live].map((s) => s.stop()));
}

/** Parse `name ready: k=v k=v ...` into its key=value fields. */
export function parseReadyLine(line: string): Record<string, string> | undefined {
  const m = /\bready:\s*(.*)$/.exec(line);
  if (!m) return undefined;
  const fields: Record<string, string> = {};
  for (const token of m[1]!.split(/\s+/)) {
    const eq = token.indexOf("=");
    if (eq > 0) fields[token.slice(0, eq)] = token.slice(eq + 1);
  }
  return fields;
}

function parseEndpoint(value: string | undefined): Endpoint | undefined {
  if (!value) return undefined;
  const colon = value.lastIndexOf(":");
  const port = Number(value.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0) return undefined;
  return { host: value.slice(0, colon).replace(/^\[|\]$/g, ""), port };
}

export interface SpawnSpec {
  id: string;
  cmd: string;
  args: string[];
  cpus?: string;
  readyTimeoutMs: number;
  cleanup?: () => Promise<void>;
}

function tail(s: string, n = 2000): string {
  return s.length > n ? `...${s.slice(-n)}` : s;
}

/** Spawn a server process and resolve once it prints its `... ready: k=v ...` line. */
export async function spawnUntilReady(spec: SpawnSpec): Promise<RunningServer> {
  const [cmd, args] = pinned(spec.cpus, spec.cmd, spec.args);
  // detached: the server gets its own process group, so that whatever it forks
  // can be killed as a group if it does not exit cleanly.
  const child: ChildProcess = spawn(cmd, args, {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => {
    stderr = tail(stderr + d, 8000);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const spawnError = new Promise<Error>((resolve) => child.on("error", resolve));

  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<string>((resolve) => {
    lines.on("line", (line) => {
      if (parseReadyLine(line)) resolve(line);
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ timeout: true }>((resolve) => {
    timer = setTimeout(() => resolve({ timeout: true }), spec.readyTimeoutMs);
  });
  const first = await Promise.race([
    ready,
    timeout,
    exited.then((e) => ({ exited: e })),
    spawnError.then((err) => ({ err })),
  ]);
  clearTimeout(timer);

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // group already gone
    }
  };

  if (typeof first !== "string") {
    killGroup("SIGKILL");
    await spec.cleanup?.();
    const what =
      "timeout" in first
        ? `no ready line within ${spec.readyTimeoutMs} ms`
        : "err" in first
          ? `could not start: ${first.err.message}`
          : `exited before ready (code ${first.exited.code}, signal ${first.exited.signal})`;
    throw new Error(
      `${spec.id}: ${what}${stderr.trim() ? `\n    stderr: ${tail(stderr.trim(), 600).replaceAll("\n", "\n    ")}` : ""}`,
    );
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  lines.on("line", () => {});

  const fields = parseReadyLine(first)!;
  const endpoints: Partial<Record<Service, Endpoint>> = {};
  for (const service of ["echo", "chat"] as const) {
    const ep = parseEndpoint(fields[service]);
    if (ep) endpoints[service] = ep;
  }
  const pid = child.pid!;
  let stopping: Promise<StopReport> | undefined;
  const server: RunningServer = {
    id: spec.id,
    pid,
    endpoints,
    readyLine: first,
    command: [cmd, ...args],
    cpuSeconds: () => treeCpuSeconds(pid),
    stop() {
      stopping ??= (async () => {
        let forced = false;
        const t0 = Date.now();
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        const result = await Promise.race([exited, sleep(5000).then(() => undefined)]);
        if (!result) {
          forced = true;
          killGroup("SIGKILL");
        }
        const { code, signal } = result ?? (await exited);
        // Its worker processes get a second to follow; whatever is left goes.
        for (let waited = 0; groupAlive(pid); waited += 50) {
          if (waited >= 1000) {
            forced = true;
            killGroup("SIGKILL");
            break;
          }
          await sleep(50);
        }
        const stopMs = Date.now() - t0;
        live.delete(server);
        await spec.cleanup?.();
        return { exitCode: code, signal, forced, stopMs, stderrTail: tail(stderr.trim(), 600) };
      })();
      return stopping;
    },
  };
  live.add(server);
  return server;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------
// The server kinds

const tsdMain = path.join(repoRoot, "daemon", "main.ts");

/** tsd itself, echo only, with optional extra arguments (e.g. a different worker shape). */
function tsd(id: string, label: string, extraArgs: string[], shape: string): ServerKind {
  return {
    id,
    label,
    describe: `tsd daemon (${process.execPath} daemon/main.ts), ${shape}${extraArgs.length ? `: ${extraArgs.join(" ")}` : ""}`,
    services: ["echo", "chat"],
    unavailable: () => (existsSync(tsdMain) ? undefined : "daemon/main.ts does not exist yet"),
    async start(opts) {
      const dir = await mkdtemp(path.join(os.tmpdir(), "tsd-bench-"));
      const args = [
        tsdMain,
        "--host",
        "127.0.0.1",
        "--socket",
        path.join(dir, "control.sock"),
        "--state-dir",
        dir,
        "--log-dir",
        dir,
        "--log-level",
        "warn",
        // Benchmarks measure the server, not its abuse limits: no per-address cap, no flood control.
        "--max-per-address",
        "0",
        "--flood-rate",
        "0",
      ];
      if (opts.services.includes("echo")) args.push("--echo-port", "0");
      if (opts.services.includes("chat")) args.push("--chat-port", "0");
      else args.push("--no-chat");
      args.push(...extraArgs);
      return spawnUntilReady({
        id,
        cmd: process.execPath,
        args,
        cpus: opts.cpus,
        readyTimeoutMs: opts.readyTimeoutMs ?? 20000,
        cleanup: () => rm(dir, { recursive: true, force: true }),
      });
    },
  };
}

const nodeEcho: ServerKind = {
  id: "node-echo",
  label: "node-echo",
  describe: `minimal single-process Node echo, net.createServer(s => s.pipe(s)) (bench/peers/node-echo.ts on ${process.execPath})`,
  services: ["echo"],
  unavailable: () => undefined,
  start(opts) {
    return spawnUntilReady({
      id: "node-echo",
      cmd: process.execPath,
      args: [path.join(repoRoot, "bench", "peers", "node-echo.ts"), "127.0.0.1"],
      cpus: opts.cpus,
      readyTimeoutMs: opts.readyTimeoutMs ?? 10000,
    });
  },
};

export const SERVERS: Record<string, ServerKind> = {
  tsd: tsd("tsd", "tsd", [], "its defaults"),
  "tsd-w1t1": tsd(
    "tsd-w1t1",
    "tsd w1 t1",
    ["--workers", "1", "--threads", "1"],
    "1 worker process, 1 thread",
  ),
  "tsd-w2t2": tsd(
    "tsd-w2t2",
    "tsd w2 t2",
    ["--workers", "2", "--threads", "2"],
    "2 worker processes, 2 threads each",
  ),
  "tsd-w1t2": tsd(
    "tsd-w1t2",
    "tsd w1 t2",
    ["--workers", "1", "--threads", "2"],
    "1 worker process, 2 threads",
  ),
  "node-echo": nodeEcho,
};
