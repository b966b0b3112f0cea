/**
 * Backoff decides how long to wait before restarting something that died: doubling from
 * `initialMs` up to `maxMs`, and back to the start once the thing stayed up for `stableMs`.
 * This is what turns a crash loop into a slow, logged retry.
 */
export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly stableMs: number;

  constructor(initialMs: number, maxMs: number, stableMs: number) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.stableMs = stableMs;
  }

  /** The delay before the next start, given how long the last run lived. */
  next(livedMs: number): number {
    if (livedMs >= this.stableMs) this.failures = 0;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** this.failures);
    this.failures++;
    return delay;
  }
}
