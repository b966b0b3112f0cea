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
  readonly #last = new Map<string, Window>();

  constructor(everyMs = FAULT_WARN_EVERY_MS) {
    this.#everyMs = everyMs;
  }

  warn(log: ThreadLog, msg: string, meta: Record<string, unknown>, error: unknown): void {
    const kind = `${msg}\0${error instanceof Error ? error.name : typeof error}`;
    const now = Date.now();
    const message = error instanceof Error ? error.message : String(error);
    const last = this.#last.get(kind);
    if (last && now - last.at < this.#everyMs && now >= last.at) {
      last.alike++;
      last.latest = { ...meta, error: message };
      // The window's count is told when it ends, even if no line of this kind comes after it.
      last.timer ??= setTimeout(
        () => this.#tellWindow(kind, log, msg),
        last.at + this.#everyMs - now,
      ).unref();
      return;
    }
    if (last?.timer) clearTimeout(last.timer);
    log("warn", msg, { ...meta, error: message, ...(last?.alike ? { alikeSinceLastLine: last.alike } : {}) });
    this.#last.set(kind, { at: now, alike: 0, latest: null, timer: null });
  }

  #tellWindow(kind: string, log: ThreadLog, msg: string): void {
    const window = this.#last.get(kind);
    if (!window || window.alike === 0) return;
    log("warn", msg, { ...window.latest, alikeSinceLastLine: window.alike });
    this.#last.set(kind, { at: Date.now(), alike: 0, latest: null, timer: null });
  }
}

interface Window {
  at: number;
  alike: number;
  /** The last left-out line's fields, for the line that tells the window's count. */
  latest: Record<string, unknown> | null;
  timer: NodeJS.Timeout | null;
}

/** The thread's one instance: every session's warnings of a kind count together. */
export const faultWarnings = new FaultWarnings();
