/**
 * AddressLimiter is the per-address cap on connections (--max-per-address), across every
 * thread. Each thread's connections are counted per address, and an address's total is the
 * sum over the threads, so a thread that dies frees all of its connections in one step and no
 * second count can drift from the first.
 */
export class AddressLimiter {
  readonly #max: () => number;
  readonly #byPeer = new Map<object, Map<string, number>>();

  /** maxPerAddress: 0 is no cap; a function is asked at each admission (config.set changes it live). */
  constructor(maxPerAddress: number | (() => number)) {
    this.#max = typeof maxPerAddress === "number" ? () => maxPerAddress : maxPerAddress;
  }

  /** Counts a new connection of peer's from address; false (and not counted) when the address is at the cap. */
  admit(peer: object, address: string): boolean {
    const max = this.#max();
    if (max > 0 && this.count(address) >= max) return false;
    let own = this.#byPeer.get(peer);
    if (!own) {
      own = new Map();
      this.#byPeer.set(peer, own);
    }
    own.set(address, (own.get(address) ?? 0) + 1);
    return true;
  }

  /** A connection of peer's from address ended; one it never admitted is ignored. */
  release(peer: object, address: string): void {
    const own = this.#byPeer.get(peer);
    const mine = own?.get(address) ?? 0;
    if (!own || mine === 0) return;
    if (mine > 1) own.set(address, mine - 1);
    else if (own.size > 1) own.delete(address);
    else this.#byPeer.delete(peer);
  }

  /** peer is gone: its connections are all freed. */
  peerGone(peer: object): void {
    this.#byPeer.delete(peer);
  }

  /** Connections from address now, over every thread. */
  count(address: string): number {
    let total = 0;
    for (const own of this.#byPeer.values()) total += own.get(address) ?? 0;
    return total;
  }
}
