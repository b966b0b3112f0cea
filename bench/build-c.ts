// Compiling the bench's C load generators on demand.
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * Compiles source into binary with `cc -O2` ($CC wins) if the binary is missing or older; returns
 * the binary. extra: more compiler arguments after the source (defines, libraries).
 */
export function ensureBuilt(
  source: string,
  binary: string,
  what: string,
  log: (msg: string) => void,
  extra: string[] = [],
): string {
  if (mtime(binary) >= mtime(source)) return binary;
  mkdirSync(path.dirname(binary), { recursive: true });
  const cc = process.env.CC || "cc";
  const args = ["-O2", "-Wall", "-Wextra", "-o", binary, source, ...extra];
  log(`building ${what}: ${cc} ${args.join(" ")}`);
  const r = spawnSync(cc, args, { encoding: "utf8", timeout: 60000 });
  if (r.error || r.status !== 0)
    throw new Error(`could not build ${binary}: ${r.error?.message ?? ""}${r.stderr ?? ""}`);
  return binary;
}
