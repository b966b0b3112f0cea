// Building and running the chat load generator (bench/chatgen.c; its header
// comment documents the protocols, modes and output lines).
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { ensureBuilt } from "./build-c.ts";
import { pinned } from "./proc.ts";
import { repoRoot } from "./servers.ts";

export const chatgenSource = path.join(repoRoot, "bench", "chatgen.c");
export const chatgenBinary = path.join(repoRoot, "bench", "build", "chatgen");

/** Compile bench/build/chatgen with `cc -O2` if it is missing or older than its source. */
export function ensureChatgen(log: (msg: string) => void): string {
  return ensureBuilt(chatgenSource, chatgenBinary, "chat load generator", log);
}

export const chatgenTlsBinary = path.join(repoRoot, "bench", "build", "chatgen-tls");

/**
 * The same load generator built with TLS (-DCHATGEN_TLS, OpenSSL's libssl): `--tls` speaks TLS
 * on every connection. A build of its own, so the plain one needs no OpenSSL headers.
 */
export function ensureChatgenTls(log: (msg: string) => void): string {
  return ensureBuilt(chatgenSource, chatgenTlsBinary, "chat load generator with TLS", log, [
    "-DCHATGEN_TLS",
    "-lssl",
    "-lcrypto",
  ]);
}

const live = new Set<ChildProcess>();

/** Kill every chatgen still running (Ctrl-C, watchdog, a failed scenario). */
export function killChatgens(): void {
  for (const child of live) child.kill("SIGKILL");
}

export type ChatProto = "tsd" | "ncat" | "irc" | "redis";

export interface ChatgenRun {
  /** Every JSON line chatgen printed, parsed. */
  results: Record<string, number | string>[];
  exitCode: number | null;
  stderr: string;
  pid: number;
}

export interface ChatgenHandle {
  pid: number;
  /** Closes chatgen's stdin (idle mode: it then exits). */
  closeStdin(): void;
  done: Promise<ChatgenRun>;
}

/**
 * Start chatgen with the given arguments (without the binary). `onLine` sees
 * every stdout line as it comes (`measure-start R`, `ready N ...`), so the
 * caller can sample the server over the same window. Killed after `limitS`.
 */
export function startChatgen(
  binary: string,
  args: string[],
  opts: { cpus?: string; limitS: number; onLine?: (line: string, pid: number) => void },
): ChatgenHandle {
  const [cmd, fullArgs] = pinned(opts.cpus, binary, args);
  const child = spawn(cmd, fullArgs, { stdio: ["pipe", "pipe", "pipe"] });
  live.add(child);
  const run: ChatgenRun = { results: [], exitCode: null, stderr: "", pid: child.pid ?? -1 };
  child.stdin.on("error", () => {});
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    if (run.stderr.length < 4000) run.stderr += d;
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.startsWith("{")) {
      try {
        run.results.push(JSON.parse(line) as Record<string, number | string>);
      } catch {
        run.stderr += `unparsable line: ${line}\n`;
      }
    }
    opts.onLine?.(line, child.pid!);
  });
  const done = new Promise<ChatgenRun>((resolve) => {
    const killer = setTimeout(() => {
      run.stderr += `chatgen overran its ${opts.limitS} s limit and was killed\n`;
      child.kill("SIGKILL");
    }, opts.limitS * 1000);
    child.on("error", (err) => {
      run.stderr += `${err.message}\n`;
    });
    child.on("close", (code) => {
      clearTimeout(killer);
      live.delete(child);
      run.exitCode = code;
      resolve(run);
    });
  });
  return { pid: child.pid ?? -1, closeStdin: () => child.stdin.end(), done };
}
