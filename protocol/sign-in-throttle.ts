/**
 * When a password may be checked. Two bounds: per account and address (a guesser's delay
 * grows, nobody else's), and per account across every address the account has not signed
 * in from lately (a guesser with many addresses is slowed as one). The account's own
 * address never meets the second bound, so a stranger cannot lock the owner out.
 * Time comes in as an argument: pure.
 */

/** The delay of an account+address starts here after its first failure and doubles per failure... */
export const PAIR_BASE_MS = 250;
/** ...up to this: a guesser from one address gets ~2 tries a minute, an owner who mistyped waits seconds. */
export const PAIR_MAX_MS = 30_000;
/** An account+address that has not failed for this long starts afresh. */
export const PAIR_FORGET_MS = 15 * 60_000;

/** Checks an account may have from new addresses before they are spaced out: an owner on a new device who mistypes never meets it. */
export const ACCOUNT_FREE_CHECKS = 10;
/** An account's count of checks from new addresses is forgotten after this long without one. */
export const ACCOUNT_WINDOW_MS = 60 * 60_000;
/** Past the free checks, new addresses get one check every 2 s between them... */
export const ACCOUNT_BASE_INTERVAL_MS = 2_000;
/** ...doubling every 5 further checks (~50 guesses in the first hour)... */
export const ACCOUNT_DOUBLING_CHECKS = 5;
/** ...up to one every 15 minutes: then 4 an hour from the whole Internet, ~150 in the first day. */
export const ACCOUNT_MAX_INTERVAL_MS = 15 * 60_000;
/** A check further off than this is refused ("try later") rather than held, so guessers cannot park connections. */
export const ACCOUNT_MAX_WAIT_MS = 10_000;

/** An address the account signed in from within this long is its owner's, not new. */
export const TRUSTED_FOR_MS = 30 * 24 * 60 * 60_000;
/** Addresses remembered per account (home, work, phone...); the identity file adds the last one. */
export const TRUSTED_PER_ACCOUNT = 4;

/** Entries of each map, least recently used forgotten first: bounded memory whatever the guessers do. */
export const THROTTLE_MAX_ENTRIES = 100_000;

/** What the hub answers before a password check: wait delayMs, or (retryAfterMs) do not check now. */
export interface ThrottleDecision {
  delayMs: number;
  retryAfterMs?: number;
}

interface PairRecord {
  failures: number;
  last: number;
}

interface AccountRecord {
  /** checks granted to new addresses since the window began */
  checks: number;
  last: number;
  /** the earliest time the next check from a new address may run */
  next: number;
}

/**
 * A Map used as a bounded LRU: touch moves a key to the end; the oldest go once past the cap,
 * or once stale (the least recently touched is the first to be).
 */
function touch<V>(map: Map<string, V>, key: string, value: V, max: number, stale: (v: V) => boolean): void {
  map.delete(key);
  map.set(key, value);
  for (const [oldest, v] of map) {
    if (map.size <= max && !stale(v)) return;
    map.delete(oldest);
  }
}

export class SignInThrottle {
  readonly #pairs = new Map<string, PairRecord>();
  readonly #accounts = new Map<string, AccountRecord>();
  readonly #trusted = new Map<string, { address: string; at: number }[]>();
  readonly #maxEntries: number;

  constructor(maxEntries = THROTTLE_MAX_ENTRIES) {
    this.#maxEntries = maxEntries;
  }

  /** Entries held in all maps (for tests of the memory bound). */
  get size(): number {
    return this.#pairs.size + this.#accounts.size + this.#trusted.size;
  }

  /**
   * check is asked before each password check of account `key` from `address`; lastAddress
   * is where the identity file says the account last signed in. A check it allows from a new
   * address is counted at once (not when it fails), so guessers in parallel cannot all slip
   * through before the first failure is known.
   */
  check(key: string, address: string, lastAddress: string | null, now: number): ThrottleDecision {
    const pairDelay = this.#pairDelay(key, address, now);
    if (address === lastAddress || this.#isTrusted(key, address, now)) return { delayMs: pairDelay };
    const old = this.#accounts.get(key);
    const record: AccountRecord =
      old && now - old.last <= ACCOUNT_WINDOW_MS ? { ...old } : { checks: 0, last: now, next: 0 };
    const extra = record.checks - ACCOUNT_FREE_CHECKS;
    const at = extra < 0 ? now + pairDelay : Math.max(record.next, now + pairDelay);
    if (at - now > ACCOUNT_MAX_WAIT_MS) return { delayMs: 0, retryAfterMs: at - now };
    record.checks++;
    record.last = now;
    if (extra >= 0) {
      const interval = ACCOUNT_BASE_INTERVAL_MS * 2 ** (extra / ACCOUNT_DOUBLING_CHECKS);
      record.next = at + Math.round(Math.min(ACCOUNT_MAX_INTERVAL_MS, interval));
    }
    touch(this.#accounts, key, record, this.#maxEntries, (r) => now - r.last > ACCOUNT_WINDOW_MS);
    return { delayMs: at - now };
  }

  /** A wrong password for key from address: that pair's delay grows. */
  failed(key: string, address: string, now: number): void {
    const id = `${key}\n${address}`;
    const old = this.#pairs.get(id);
    const failures = old && now - old.last <= PAIR_FORGET_MS ? old.failures + 1 : 1;
    touch(this.#pairs, id, { failures, last: now }, this.#maxEntries, (r) => now - r.last > PAIR_FORGET_MS);
  }

  /** key signed in from address: the pair starts afresh and the address is the owner's from now on. */
  signedIn(key: string, address: string, now: number): void {
    this.#pairs.delete(`${key}\n${address}`);
    const kept = (this.#trusted.get(key) ?? []).filter(
      (t) => t.address !== address && now - t.at <= TRUSTED_FOR_MS,
    );
    kept.push({ address, at: now });
    touch(
      this.#trusted,
      key,
      kept.slice(-TRUSTED_PER_ACCOUNT),
      this.#maxEntries,
      (list) => now - list.at(-1)!.at > TRUSTED_FOR_MS,
    );
  }

  #pairDelay(key: string, address: string, now: number): number {
    const record = this.#pairs.get(`${key}\n${address}`);
    if (!record) return 0;
    const elapsed = now - record.last;
    if (elapsed > PAIR_FORGET_MS) return 0;
    const delay = Math.min(PAIR_MAX_MS, PAIR_BASE_MS * 2 ** (record.failures - 1));
    return Math.max(0, delay - elapsed);
  }

  #isTrusted(key: string, address: string, now: number): boolean {
    return (this.#trusted.get(key) ?? []).some((t) => t.address === address && now - t.at <= TRUSTED_FOR_MS);
  }
}
