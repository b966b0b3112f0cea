import type { Options } from "yargs";
import { UsageError } from "./errors.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "5s", "500ms", "2m", "1h", "7d" or a bare number of seconds into milliseconds. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(String(text).trim());
  if (!match) throw new UsageError(`${option} takes a duration such as 5s, 500ms or 2m, not "${text}"`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "s"]!);
}

/** The shortest exact way to write ms as a duration: "10m", "1h", "1500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms >= UNITS[unit]! && ms % UNITS[unit]! === 0) return `${ms / UNITS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}

export interface DurationBounds {
  /** Milliseconds, inclusive. */
  min?: number;
  max?: number;
}

/** A duration option's value in milliseconds, held to bounds, with errors in the option's own terms. */
export function checkedDuration(text: string, option: string, bounds: DurationBounds = {}): number {
  const ms = parseDuration(text, option);
  if (bounds.max !== undefined && ms > bounds.max)
    throw new UsageError(`${option} must be at most ${formatDuration(bounds.max)}, not ${text}`);
  if (bounds.min !== undefined && ms < bounds.min)
    throw new UsageError(`${option} must be at least ${formatDuration(bounds.min)}, not ${text}`);
  return ms;
}

/**
 * A yargs option whose value is a duration, parsed into milliseconds while the line is parsed,
 * so a bad one is bad usage before anything is sent. nargs 1 takes the next word whatever it
 * is, so `--grace -5s` is a malformed duration, not the flags -5 and -s.
 */
export function durationOption(
  name: string,
  describe: string,
  bounds: DurationBounds = {},
  defaultValue?: string,
): Options {
  return {
    type: "string",
    nargs: 1,
    describe,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    // Given twice (the shell's defaults, then the line's own), the last one wins.
    coerce: (value: unknown) =>
      value === undefined ? undefined : checkedDuration(String(lastOf(value)), `--${name}`, bounds),
  };
}

/** The last of an option given several times, or the one value. */
export function lastOf(value: unknown): unknown {
  return Array.isArray(value) ? value.at(-1) : value;
}

/** "1h 2m 3s" for a number of seconds. */
export function formatUptime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h}h` : "", h || m ? `${m}m` : "", `${s}s`].filter(Boolean).join(" ");
}
