import { UsageError } from "./errors.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "5s", "500ms", "2m" or a bare number of seconds into milliseconds. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(text).trim());
  if (!match) throw new UsageError(`${option} takes a duration such as 5s, 500ms or 2m, not "${text}"`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "s"]!);
}

/** "1h 2m 3s" for a number of seconds. */
export function formatUptime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h}h` : "", h || m ? `${m}m` : "", `${s}s`].filter(Boolean).join(" ");
}
