import { LOGIN_BATCH_MS } from "../limits.ts";

/** One sign-in to record: when, and from where. */
export interface Login {
  at: string;
  address: string;
}

/**
 * A batch of at least this many sign-ins is a storm: the next batch collects for
 * LOGIN_STORM_BATCH_MS. Every write of the file makes every other thread and process parse all of
 * it again (10,000 accounts: megabytes of JSON), so in a storm the writes are spaced out.
 */
export const LOGIN_STORM_BATCH = 50;
export const LOGIN_STORM_BATCH_MS = 5000;

/** When the next batch is written: after delayMs, or stormDelayMs after a batch of stormSize or more. */
export interface LoginBatchTiming {
  delayMs: number;
  stormSize: number;
  stormDelayMs: number;
}

const DEFAULT_TIMING: LoginBatchTiming = {
  delayMs: LOGIN_BATCH_MS,
  stormSize: LOGIN_STORM_BATCH,
  stormDelayMs: LOGIN_STORM_BATCH_MS,
};

/**
 * LoginBatch collects sign-ins for a while and hands them to `write` together: one locked
 * rewrite of the file per batch instead of one per sign-in, which at thousands of sign-ins is
 * the difference between a few writes a second and rewriting the whole file thousands of
 * times. A later sign-in of the same account in one batch replaces the earlier. flush writes
 * what is collected at once (a stop does not wait out the batch's delay).
 */
export class LoginBatch {
  readonly #write: (logins: ReadonlyMap<string, Login>) => Promise<void>;
  readonly #timing: LoginBatchTiming;
  #logins = new Map<string, Login>();
  /** The batch being collected: settled when it is written. */
  #batch: PromiseWithResolvers<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** The write under way or last made (its failure belongs to its batch's callers). */
  #writing: Promise<void> = Promise.resolve();
  #lastSize = 0;

  constructor(
    write: (logins: ReadonlyMap<string, Login>) => Promise<void>,
    timing: Partial<LoginBatchTiming> | number = {},
  ) {
    this.#write = write;
    this.#timing = { ...DEFAULT_TIMING, ...(typeof timing === "number" ? { delayMs: timing } : timing) };
  }

  /** Resolves once the batch holding this sign-in is written. */
  record(key: string, login: Login): Promise<void> {
    this.#logins.set(key, login);
    if (!this.#batch) {
      this.#batch = Promise.withResolvers<void>();
      const { delayMs, stormSize, stormDelayMs } = this.#timing;
      this.#timer = setTimeout(
        () => void this.#writeNow(),
        this.#lastSize >= stormSize ? stormDelayMs : delayMs,
      );
    }
    return this.#batch.promise;
  }

  /** Resolves once every sign-in recorded so far is written. */
  async flush(): Promise<void> {
    await this.#writeNow();
  }

  #writeNow(): Promise<void> {
    const batch = this.#batch;
    if (!batch) return this.#writing;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#batch = null;
    const logins = this.#logins;
    this.#logins = new Map();
    this.#lastSize = logins.size;
    const written = this.#write(logins);
    written.then(batch.resolve, batch.reject);
    this.#writing = written.catch(() => {});
    return written;
  }
}
