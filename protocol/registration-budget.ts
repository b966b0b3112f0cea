/**
 * How many accounts may be made from one network: a token bucket per network, at two widths,
 * so a guesser who owns many addresses is bounded as one. Time comes in as an argument: pure.
 */

import { networkOf, type PrefixLengths } from "./address-prefix.ts";

const HOUR_MS = 3_600_000;

/**
 * KeyedBuckets holds one token bucket (burst, then ratePerHour an hour) per key, as a
 * theoretical arrival time (GCRA). A bucket that has refilled is the same as no bucket and
 * is forgotten; past maxKeys the least recently used is forgotten, so memory stays bounded
 * however many keys a client invents.
 */
export class KeyedBuckets {
  readonly burst: number;
  readonly #interval: number;
  readonly #tolerance: number;
  readonly #maxKeys: number;
  /** key -> theoretical arrival time; insertion order is least recently used first. */
  readonly #tat = new Map<string, number>();

  constructor(burst: number, ratePerHour: number, maxKeys: number) {
    if (!(burst >= 1 && ratePerHour > 0 && maxKeys >= 1))
      throw new RangeError(
        `need burst >= 1, rate > 0, maxKeys >= 1; got ${burst}, ${ratePerHour}, ${maxKeys}`,
      );
    this.burst = Math.floor(burst);
    this.#interval = HOUR_MS / ratePerHour;
    this.#tolerance = (this.burst - 1) * this.#interval;
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#tat.size;
  }

  /** 0 if key may spend a token at nowMs, else the ms until it may. */
  waitMs(key: string, nowMs: number): number {
    const tat = Math.max(this.#tat.get(key) ?? nowMs, nowMs);
    return Math.max(0, Math.ceil(tat - this.#tolerance - nowMs));
  }

  /** Spends a token of key (the caller checked waitMs first). */
  spend(key: string, nowMs: number): void {
    const tat = Math.max(this.#tat.get(key) ?? nowMs, nowMs);
    this.#tat.delete(key);
    this.#tat.set(key, tat + this.#interval);
    this.#forget(nowMs);
  }

  #forget(nowMs: number): void {
    for (const [key, tat] of this.#tat) {
      if (this.#tat.size <= this.#maxKeys && tat > nowMs) return;
      this.#tat.delete(key);
    }
  }
}

/** One width of network a registration is counted in, and the budget of each such network. */
export interface RegistrationTier {
  prefix: PrefixLengths;
  /** registrations an hour (and at once) per network of this width */
  perHour: number;
}

/**
 * The tiers for a budget of `perHour` accounts an hour per /24 (IPv4) or /56 (IPv6, one
 * customer's delegation), and four times that per /16 or /48, so that owning a whole /16
 * (256 /24s) buys 4 times as many accounts, not 256 times.
 */
export function registrationTiers(perHour: number): RegistrationTier[] {
  return [
    { prefix: { v4: 24, v6: 56 }, perHour },
    { prefix: { v4: 16, v6: 48 }, perHour: 4 * perHour },
  ];
}

/** RegistrationBudget spends one registration of an address in every tier, or in none. */
export class RegistrationBudget {
  readonly #tiers: { prefix: PrefixLengths; buckets: KeyedBuckets }[];

  constructor(tiers: readonly RegistrationTier[], maxKeys = 100_000) {
    this.#tiers = tiers.map((tier) => ({
      prefix: tier.prefix,
      buckets: new KeyedBuckets(tier.perHour, tier.perHour, maxKeys),
    }));
  }

  /** 0 if address may register now, else the ms until it may. */
  waitMs(address: string, nowMs: number): number {
    let wait = 0;
    for (const tier of this.#tiers)
      wait = Math.max(wait, tier.buckets.waitMs(networkOf(address, tier.prefix), nowMs));
    return wait;
  }

  /** Spends a registration if every tier allows one; returns the wait as waitMs does (0 = spent). */
  take(address: string, nowMs: number): number {
    const wait = this.waitMs(address, nowMs);
    if (wait > 0) return wait;
    for (const tier of this.#tiers) tier.buckets.spend(networkOf(address, tier.prefix), nowMs);
    return 0;
  }
}
