import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DAEMON = path.join(ROOT, "bin", "tsd-daemon.js");
const TSCTL = path.join(ROOT, "bin", "tsctl.js");

export interface RunningDaemon {
  proc: ChildProcess;
  dir: string;
  socket: string;
  stateDir: string;
  logDir: string;
  echoPort: number;
  chatPort: number;
  /** Everything the daemon printed on stdout so far. */
  stdout(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  tsctl(args: string[], opts?: { input?: string }): Promise<CtlResult>;
  /** Stops the daemon (SIGTERM) unless it is already gone, and removes its directory. */
  cleanup(): Promise<void>;
}

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The daemon's worker processes and threads per process, as flags. */
export function shape(workers: number, threads: number): string[] {
  return ["--workers", String(workers), "--threads", String(threads)];
}

/** No bound on new accounts (the default is 20 an hour per /24): for tests that register many from 127.0.0.1. */
export const MANY_REGISTRATIONS = ["--registrations-per-hour", "1000000"];

/** Chat only, no per-address cap, flood control or registration bound: for tests that push much from one address. */
export const UNLIMITED_CHAT = [
  "--no-echo",
  "--max-per-address",
  "0",
  "--flood-rate",
  "0",
  ...MANY_REGISTRATIONS,
];

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tsd-test-"));
}

/** Runs the real tsctl. */
export function tsctl(
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [TSCTL, ...args],
      { env: opts.env ?? process.env, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? "");
  });
}

export interface DaemonSpawnOptions {
  dir?: string;
  env?: NodeJS.ProcessEnv;
  /** A command that runs the daemon's command line, e.g. ["prlimit", "--nofile=300:300"]. */
  wrap?: string[];
  /** The control socket; null: none given, the daemon finds its own by the default rules. */
  socket?: string | null;
}

/** How a spawned daemon's start ended: its ready line, or its exit before that. */
export type StartOutcome =
  | { ready: true; line: string }
  | { ready: false; code: number | null; signal: NodeJS.Signals | null };

/** A daemon just spawned: not yet ready, so its ports are not known yet. */
export type SpawnedDaemon = Omit<RunningDaemon, "echoPort" | "chatPort"> & {
  stderr(): string;
  /** Resolves at the ready line or at the exit, whichever comes first (30 s at most, then it rejects). */
  started: Promise<StartOutcome>;
};

/** The ports a ready line names, by service (0: not listening). */
function readyPort(line: string, service: string): number {
  return Number(new RegExp(`${service}=[^ ]*:(\\d+)`).exec(line)?.[1] ?? 0);
}

/**
 * Starts the real tsd-daemon on free ports in a fresh temporary directory and waits for
 * its ready line.
 */
export async function startDaemon(
  args: string[] = [],
  opts: DaemonSpawnOptions = {},
): Promise<RunningDaemon> {
  const spawned = spawnDaemon(args, opts);
  const outcome = await spawned.started;
  if (!outcome.ready)
    throw new Error(
      `daemon exited with ${outcome.code} before it was ready\n${spawned.stdout()}\n${spawned.stderr()}`,
    );
  return { ...spawned, echoPort: readyPort(outcome.line, "echo"), chatPort: readyPort(outcome.line, "chat") };
}

/** Starts the real tsd-daemon on free ports in a fresh temporary directory, without waiting for it. */
export function spawnDaemon(args: string[] = [], opts: DaemonSpawnOptions = {}): SpawnedDaemon {
  const dir = opts.dir ?? tempDir();
  const socket = opts.socket === undefined ? path.join(dir, "run", "control.sock") : opts.socket;
  const stateDir = path.join(dir, "state");
  const logDir = path.join(dir, "log");
  const [command, ...prefix] = [...(opts.wrap ?? []), process.execPath];
  const proc = spawn(
    command!,
    [
      ...prefix,
      DAEMON,
      "--chat-port",
      "0",
      "--echo-port",
      "0",
      ...(socket === null ? [] : ["--socket", socket]),
      "--state-dir",
      stateDir,
      "--log-dir",
      logDir,
      ...args,
    ],
    { env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const started = new Promise<StartOutcome>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon not ready in 30 s\n${out}\n${err}`)), 30_000);
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("tsd-daemon ready:"));
      if (line) {
        clearTimeout(timer);
        resolve({ ready: true, line });
      }
    });
    // "close", not "exit": by then everything it printed has been read.
    proc.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ ready: false, code, signal });
    });
  });
  // A caller that only wants the exit need not wait for the start.
  started.catch(() => {});
  const ctlSocket = socket === null ? [] : ["--socket", socket];
  return {
    proc,
    dir,
    socket: socket ?? "",
    stateDir,
    logDir,
    stdout: () => out,
    stderr: () => err,
    exited,
    started,
    tsctl: (ctlArgs, ctlOpts) => tsctl([...ctlSocket, ...ctlArgs], { env: opts.env, ...ctlOpts }),
    async cleanup() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until check returns a truthy value, or fails after timeoutMs. */
export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether a process id is alive (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resident set size of a process in bytes, from /proc. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}
