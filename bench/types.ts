// What run.ts hands to a scenario and what a scenario hands back. A new
// scenario (chat fan-out, idle RSS, sign-in rate...) is a module under
// bench/scenarios/ exporting Scenario objects, listed in scenarios/index.ts.
import type { Pinning } from "./proc.ts";

export interface BenchOptions {
  /** Measured seconds per loadgen run. */
  durationS: number;
  /** Warm-up seconds before each measured window. */
  warmupS: number;
  /** Runs per server; the table shows medians. */
  runs: number;
  /** Extra rounds a scenario may add to replace rounds disturbed by other load. */
  extraRounds: number;
  /** Server ids to include (undefined = each scenario's default list). */
  servers?: string[];
}

export interface BenchContext {
  options: BenchOptions;
  pinning: Pinning;
  loadgen: string;
  log(msg: string): void;
}

export interface Scenario {
  name: string;
  /** One line: what is measured, with its parameters. */
  title: string;
  /** Server ids this scenario compares by default; the first is the ratio baseline. */
  defaultServers: string[];
  /** Rough wall-clock seconds for the given options (and `rounds`, default options.runs). */
  estimateSeconds(options: BenchOptions, servers: number, rounds?: number): number;
  run(ctx: BenchContext, servers: string[]): Promise<ScenarioReport>;
}

export interface ScenarioReport {
  name: string;
  title: string;
  /** Parameters, for the JSON record. */
  params: Record<string, unknown>;
  /** Server id the ratios are relative to. */
  baseline: string;
  /** Rendered table plus notes, ready to print. */
  text: string;
  /** true when a warning (bottleneck, errors, failed server) was raised. */
  warnings: string[];
  /** Everything measured, for bench/results/*.json. */
  raw: unknown;
  /** The table and notes in markdown, for docs/performance.md (--write-docs); absent: not written there. */
  markdown?: string;
}
