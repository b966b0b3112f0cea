/**
 * NameReservations holds the names of sessions that are registering them (between choosing
 * the name and setting its password), so two sessions on any threads cannot register one name.
 */
export class NameReservations {
  readonly #holders = new Map<string, { sid: string; peer: object }>();

  /** Holds key for session sid on peer; false when another session holds it. */
  reserve(peer: object, sid: string, key: string): boolean {
    const holder = this.#holders.get(key);
    if (holder !== undefined && holder.sid !== sid) return false;
    this.#holders.set(key, { sid, peer });
    return true;
  }

  /** Session sid signed in as key: its hold on key, if it had one, ends. */
  signedIn(sid: string, key: string): void {
    if (this.#holders.get(key)?.sid === sid) this.#holders.delete(key);
  }

  /** Session sid ended: whatever it held is free. */
  sessionGone(sid: string): void {
    for (const [key, holder] of this.#holders) if (holder.sid === sid) this.#holders.delete(key);
  }

  /** peer is gone: whatever its sessions held is free. */
  peerGone(peer: object): void {
    for (const [key, holder] of this.#holders) if (holder.peer === peer) this.#holders.delete(key);
  }
}
