// What the cluster-redis generator (cluster-redis-gen.ts, a child process) is told and reports
// per step, and the two judgements on a step that it and the scenario share.

export interface GenConfig {
  port: number;
  cluster: string;
  /** Simulated daemons: each one command connection and one reader of every entry. */
  nodes: number;
  /** Senders (users who speak), spread round-robin over the nodes. */
  senders: number;
  /** Offered lines/s in all, one step each, in order. */
  rates: number[];
  warmupS: number;
  durationS: number;
  /** A step whose p99 passes this (ms), or whose achieved rate falls short, ends the ladder. */
  p99LimitMs: number;
  /** The cpu.stat of Redis's CPU budget (bench/cpu-budget.ts), if it has one: its quota's hold is read from it. */
  budgetStat?: string;
  /** Redis's CPU budget in cores (1: a whole core). */
  redisCores: number;
  /** A step past the bound that cannot be Redis's limit (see notRedisLimit) is run again, this many times per series at most. */
  retries: number;
}

export interface StepFigures {
  nodes: number;
  offered: number;
  /** Lines sent per second of the measured window (less than offered: held back, see below). */
  sent: number;
  /** Lines Redis answered per second of the window. */
  achieved: number;
  /** Lines the generator held back because over a second's worth were unanswered. */
  heldBack: number;
  /** Share of (lines sent in the window x nodes) read by the readers by the end of the drain. */
  readShare: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Redis's main thread (the one that runs every command), cores (INFO cpu deltas). */
  redisMainCores: number;
  /** The whole redis-server process (with the AOF fsync thread), cores. */
  redisCores: number;
  /** This generator's own CPU, cores. */
  genCores: number;
  /**
   * Time spent runnable but waiting for a CPU (/proc/PID/schedstat), cores: Redis's main thread
   * and the generator's. High: other processes on the machine took the CPU it needed (starved).
   */
  redisWaitCores: number;
  genWaitCores: number;
  /** Time Redis was held by its budget's quota, cores (0 without a budget): part of redisWaitCores. */
  redisThrottledCores: number;
  /** How many earlier tries of this step were dropped (past the bound, but not by Redis: notRedisLimit). */
  retried: number;
  errors: number;
  firstError: string | null;
  /** The readers caught up with every line within the drain bound. */
  drained: boolean;
  windowS: number;
  load1: number;
}

/** The step passed the bound: p99 over the limit, fewer lines answered than offered, or lines not read. */
export function pastBound(step: StepFigures, config: { p99LimitMs: number }): boolean {
  return step.p99Ms > config.p99LimitMs || step.achieved < 0.97 * step.offered || !step.drained;
}

/** Other load took at least a fifth of a core from Redis (beyond its budget's own hold) or from the generator. */
export function disturbed(step: StepFigures): boolean {
  return step.redisWaitCores - step.redisThrottledCores >= 0.2 || step.genWaitCores >= 0.2;
}

/**
 * A step past the bound that says nothing of Redis's ceiling: other load took the CPU, or Redis
 * used under half of its core or budget (a passing stall: one 100 ms hiccup in a few thousand
 * lines is a p99 over 100 ms at a low rate).
 */
export function notRedisLimit(step: StepFigures, redisCores: number): boolean {
  return disturbed(step) || step.redisCores < 0.5 * redisCores;
}
