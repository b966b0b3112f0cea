/**
 * Flood control: a token bucket per user, the bounded queue in front of it (lines beyond
 * the burst wait and go at the rate, as IRC servers' "fakelag" does; only lines beyond the
 * queue are dropped, and counted), and a once-per-interval gate for the "! slow down" answer.
 * Time comes in as an argument, so all of it is pure and testable.
 */

/**
 * The limits flood control reads, AT EACH USE: the session's limits object, which a live
 * `config set flood-rate` updates in place for users already signed in.
 */
export interface FloodLimits {
  /** lines a user may send at once */
  readonly floodBurst: number;
  /** lines a second after the burst; 0 = no flood control */
  readonly floodRate: number;
  /** lines that may wait for their turn beyond the burst; past it they are dropped (absent: DEFAULT_FLOOD_QUEUE) */
  readonly floodQueue?: number;
}

/** --flood-queue's default: a pasted block of 100 lines beyond the burst still arrives whole. */
export const DEFAULT_FLOOD_QUEUE = 100;

/** A token is "there" from this close to whole on, so float sums never hold a line back by a rounding error. */
const EPSILON = 1e-9;

/**
 * TokenBucket allows a burst of floodBurst events, then floodRate a second on average; a rate
 * of 0 means unlimited. It keeps its tokens and when it last counted them, so a change of the
 * limits applies from the next event on (a lower burst caps what is there; a new rate refills
 * at that rate); a clock that goes backwards refills nothing.
 */
export class TokenBucket {
  readonly limits: FloodLimits;
  /** null: full (nothing taken yet) */
  #tokens: number | null = null;
  #at = Number.NEGATIVE_INFINITY;

  constructor(limits: FloodLimits) {
    this.limits = limits;
  }

  /** available returns how many events may go now (Infinity when the rate is 0). */
  available(nowMs: number): number {
    if (!(this.limits.floodRate > 0)) return Number.POSITIVE_INFINITY;
    return Math.floor(this.#refill(nowMs) + EPSILON);
  }

  /** take spends one token if there is one and reports whether the event may go ahead. */
  take(nowMs: number): boolean {
    if (!(this.limits.floodRate > 0)) return true;
    const tokens = this.#refill(nowMs);
    if (tokens + EPSILON < 1) return false;
    this.#tokens = Math.max(0, tokens - 1);
    return true;
  }

  /** waitMs returns how long until take would succeed: 0 when it would now. */
  waitMs(nowMs: number): number {
    const rate = this.limits.floodRate;
    if (!(rate > 0)) return 0;
    const tokens = this.#refill(nowMs);
    if (tokens + EPSILON >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - tokens) * 1000) / rate));
  }

  #refill(nowMs: number): number {
    const burst = Math.max(1, Math.floor(this.limits.floodBurst));
    if (this.#tokens === null) {
      this.#tokens = burst;
      this.#at = nowMs;
      return burst;
    }
    const elapsed = nowMs - this.#at;
    if (elapsed > 0) {
      this.#tokens += (elapsed * this.limits.floodRate) / 1000;
      this.#at = nowMs;
    }
    if (this.#tokens > burst) this.#tokens = burst;
    return this.#tokens;
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

  /** waitMs returns how long until ready() would be true: 0 when it would now. */
  waitMs(nowMs: number): number {
    if (!(nowMs - this.#last < this.intervalMs && nowMs >= this.#last)) return 0;
    return this.#last + this.intervalMs - nowMs;
  }
}

/**
 * FloodQueue decides, for one signed-in user, what becomes of each line read: it goes now
 * (a token of the burst), waits its turn in a queue bounded in lines (floodQueue beyond what
 * may go now) and bytes, or is dropped and counted. The counts are told to the user at most
 * once per reportIntervalMs, so nothing is dropped silently. The queue itself is the caller's
 * (lines and prompts' answers must stay in one order); this is its bookkeeping.
 */
export class FloodQueue {
  readonly bucket: TokenBucket;
  readonly maxBytes: number;
  readonly #report: OncePer;
  #dropped = 0;

  constructor(limits: FloodLimits, maxBytes: number, reportIntervalMs = 1000) {
    this.bucket = new TokenBucket(limits);
    this.maxBytes = maxBytes;
    this.#report = new OncePer(reportIntervalMs);
  }

  /**
   * admit reports whether a line of `bytes` may join a queue already holding `queued` lines
   * (`queuedBytes` bytes); when not, the line is counted as dropped.
   */
  admit(nowMs: number, queued: number, queuedBytes: number, bytes: number): boolean {
    const room = this.bucket.limits.floodQueue ?? DEFAULT_FLOOD_QUEUE;
    const waiting = queued - this.bucket.available(nowMs);
    if (waiting < room && queuedBytes + bytes <= this.maxBytes) return true;
    this.#dropped++;
    return false;
  }

  /** holding reports whether some of `queued` lines must wait for a token (the reader should pause). */
  holding(nowMs: number, queued: number): boolean {
    return queued > this.bucket.available(nowMs);
  }

  /** next spends the token of the line at the head of the queue and returns 0, or returns how long it must wait. */
  next(nowMs: number): number {
    const wait = this.bucket.waitMs(nowMs);
    if (wait === 0) this.bucket.take(nowMs);
    return wait;
  }

  /** The lines dropped and not told yet. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * takeReport returns the count of dropped lines to tell the user now and forgets it, or 0:
   * when none were dropped, or a report went out less than the interval ago (see reportDueMs).
   */
  takeReport(nowMs: number): number {
    if (this.#dropped === 0 || !this.#report.ready(nowMs)) return 0;
    const n = this.#dropped;
    this.#dropped = 0;
    return n;
  }

  /** reportDueMs returns how long until held drops may be told; null when none are held. */
  reportDueMs(nowMs: number): number | null {
    return this.#dropped === 0 ? null : this.#report.waitMs(nowMs);
  }
}
