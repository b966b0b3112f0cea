import { LOGIN_BATCH_MS } from "../limits.ts";

/** One sign-in to record: when, and from where. */
export interface Login {
  at: string;
  address: string;
}

/**
 * LoginBatch collects sign-ins for delayMs and hands them to `write` together: one locked
 * rewrite of the file per batch instead of one per sign-in, which at thousands of sign-ins is
 * the difference between a few writes a second and rewriting the whole file thousands of
 * times. A later sign-in of the same account in one batch replaces the earlier.
 */
export class LoginBatch {
  readonly #write: (logins: ReadonlyMap<string, Login>) => Promise<void>;
  readonly #delayMs: number;
  #logins = new Map<string, Login>();
  #batch: Promise<void> | null = null;

  constructor(write: (logins: ReadonlyMap<string, Login>) => Promise<void>, delayMs = LOGIN_BATCH_MS) {
    this.#write = write;
    this.#delayMs = delayMs;
  }

  /** Resolves once the batch holding this sign-in is written. */
  record(key: string, login: Login): Promise<void> {
    this.#logins.set(key, login);
    this.#batch ??= new Promise((resolve) => setTimeout(resolve, this.#delayMs)).then(() => {
      const batch = this.#logins;
      this.#logins = new Map();
      this.#batch = null;
      return this.#write(batch);
    });
    return this.#batch;
  }

  /** Resolves once every sign-in recorded so far is written. */
  async flush(): Promise<void> {
    await this.#batch;
  }
}
