import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { ROOT, waitFor } from "../helpers/daemon.ts";

export const TSCHAT = path.join(ROOT, "bin", "tschat.js");

/** A running tschat (or a command wrapping it) with its output collected. */
export interface Running {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Resolves once stdout matches. */
  output(match: string | RegExp | ((out: string) => boolean), timeoutMs?: number): Promise<void>;
}

export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Running {
  const proc = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  proc.stdin!.on("error", () => {});
  const exited = new Promise<number | null>((resolve) => proc.once("close", (code) => resolve(code)));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    async output(match, timeoutMs = 10_000) {
      await waitFor(
        () =>
          typeof match === "string"
            ? out.includes(match)
            : typeof match === "function"
              ? match(out)
              : match.test(out),
        timeoutMs,
        `output matching ${match}; got ${JSON.stringify(out)} ${JSON.stringify(err)}`,
      );
    },
  };
}

/** tschat with pipes for stdin, stdout and stderr. */
export function tschat(args: string[]): Running {
  return run(process.execPath, [TSCHAT, ...args]);
}
