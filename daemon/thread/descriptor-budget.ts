import fs from "node:fs";
import { RESERVED_DESCRIPTORS } from "../shared/limits.ts";

/** The soft limit on open files from a `/proc/<pid>/limits` text, or null if it is unlimited or absent. */
export function parseOpenFileLimit(limits: string): number | null {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  if (!match || match[1] === "unlimited") return null;
  return Number(match[1]);
}

/**
 * How many connections one of `threads` session threads may hold so that, together, they
 * leave the process descriptors for its files. Past it a connection is refused with a word
 * rather than accepted into EMFILE, where libuv closes it silently and nothing is logged.
 * Null where the limit cannot be read (not Linux): no cap.
 */
export function connectionsPerThread(threads: number): number | null {
  let limits: string;
  try {
    limits = fs.readFileSync("/proc/self/limits", "utf8");
  } catch {
    return null;
  }
  const limit = parseOpenFileLimit(limits);
  if (limit === null) return null;
  return Math.max(16, Math.floor((limit - RESERVED_DESCRIPTORS) / threads));
}
