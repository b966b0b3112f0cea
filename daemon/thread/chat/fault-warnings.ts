import type { ThreadLog } from "../service.ts";

/** The least time between two lines of one kind of fault, as the primary's hub logs them. */
export const FAULT_WARN_EVERY_MS = 10_000;

/**
 * A request that fails because the accounts cannot be used (the cluster's Redis away, the identity
 * file broken) fails for every user who asks until the cause is gone: logged once per request, a
 * user at the flood rate writes 5 lines a second, N users 5N. So one line per kind (the sentence
 * and the error's class) every FAULT_WARN_EVERY_MS, for the whole thread; the next line of that
 * kind counts those left out (alikeSinceLastLine).
 */
export class FaultWarnings {
  readonly #everyMs: number;
  readonly #last = new Map<string, { at: number; alike: number }>();

  constructor(everyMs = FAULT_WARN_EVERY_MS) {
    this.#everyMs = everyMs;
  }

  warn(log: ThreadLog, msg: string, meta: Record<string, unknown>, error: unknown): void {
    const kind = `${msg}\0${error instanceof Error ? error.name : typeof error}`;
    const now = Date.now();
    const last = this.#last.get(kind);
    if (last && now - last.at < this.#everyMs && now >= last.at) {
      last.alike++;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    log("warn", msg, { ...meta, error: message, ...(last?.alike ? { alikeSinceLastLine: last.alike } : {}) });
    this.#last.set(kind, { at: now, alike: 0 });
  }
}

/** The thread's one instance: every session's warnings of a kind count together. */
export const faultWarnings = new FaultWarnings();
