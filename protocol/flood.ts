/**
 * Flood control: a token bucket per user, and a once-per-interval gate for the
 * "! slow down" answer. Time comes in as an argument, so both are pure and testable.
 */

/**
 * TokenBucket allows a burst of `burst` events, then `ratePerSecond` a second on average.
 * A rate of 0 means unlimited. It is kept as a theoretical arrival time (GCRA), the same
 * bucket without fractional tokens adding up rounding errors; a clock that goes backwards
 * refills nothing.
 */
export class TokenBucket {
  readonly burst: number;
  readonly ratePerSecond: number;
  /** ms between two events at the sustained rate */
  readonly #interval: number;
  /** how far ahead of now the arrival time may run: the burst */
  readonly #tolerance: number;
  #tat = Number.NEGATIVE_INFINITY;

  constructor(burst: number, ratePerSecond: number) {
    if (!(ratePerSecond >= 0)) throw new RangeError(`rate must be >= 0, got ${ratePerSecond}`);
    this.burst = Math.max(1, Math.floor(burst));
    this.ratePerSecond = ratePerSecond;
    this.#interval = ratePerSecond > 0 ? 1000 / ratePerSecond : 0;
    this.#tolerance = (this.burst - 1) * this.#interval;
  }

  /** take spends one token if there is one and reports whether the event may go ahead. */
  take(nowMs: number): boolean {
    if (this.ratePerSecond === 0) return true;
    const tat = Math.max(this.#tat, nowMs);
    if (tat - nowMs > this.#tolerance + 1e-6) return false;
    this.#tat = tat + this.#interval;
    return true;
  }
}

/** OncePer opens at most once per interval: ready() is true the first time and then again only after intervalMs. */
export class OncePer {
  readonly intervalMs: number;
  #last = Number.NaN;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  ready(nowMs: number): boolean {
    if (nowMs - this.#last < this.intervalMs && nowMs >= this.#last) return false;
    this.#last = nowMs;
    return true;
  }
}
