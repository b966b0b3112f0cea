import { nameKey, sortNames } from "../../../protocol/names.ts";
import type { HubPeer } from "./hub-peer.ts";

/** A signed-in session. */
export interface Member {
  sid: string;
  key: string;
  name: string;
  address: string;
  since: Date;
  peer: HubPeer;
  /** The /away text; null when the user is not away. */
  away: string | null;
  /** When the user last said, did or sent anything, or went away or back (ms since the epoch): /whois's idle time. */
  lastActive: number;
}

/**
 * Roster is who is signed in: by session and by account (one session per account), and
 * which threads hold members, which is where a line to everyone has to go.
 */
export class Roster {
  readonly #bySid = new Map<string, Member>();
  readonly #byKey = new Map<string, Member>();
  readonly #membersPerPeer = new Map<HubPeer, number>();

  get size(): number {
    return this.#byKey.size;
  }

  session(sid: string): Member | undefined {
    return this.#bySid.get(sid);
  }

  /** The member signed in under a name, in any case (its key). */
  named(name: string): Member | undefined {
    return this.#byKey.get(nameKey(name));
  }

  account(key: string): Member | undefined {
    return this.#byKey.get(key);
  }

  add(member: Member): void {
    this.#bySid.set(member.sid, member);
    this.#byKey.set(member.key, member);
    this.#membersPerPeer.set(member.peer, (this.#membersPerPeer.get(member.peer) ?? 0) + 1);
  }

  remove(member: Member): void {
    this.#bySid.delete(member.sid);
    if (this.#byKey.get(member.key) === member) this.#byKey.delete(member.key);
    const n = (this.#membersPerPeer.get(member.peer) ?? 1) - 1;
    if (n <= 0) this.#membersPerPeer.delete(member.peer);
    else this.#membersPerPeer.set(member.peer, n);
  }

  /** peer's members, in sign-in order. */
  membersOf(peer: HubPeer): Member[] {
    return [...this.#bySid.values()].filter((member) => member.peer === peer);
  }

  /** Every member, in name order. */
  members(): Member[] {
    return [...this.#byKey.values()].sort((a, b) => (nameKey(a.name) < nameKey(b.name) ? -1 : 1));
  }

  /** The names signed in, sorted for people. */
  names(): string[] {
    return sortNames([...this.#byKey.values()].map((m) => m.name));
  }

  /** The names of the members who are away. */
  awayNames(): string[] {
    return [...this.#byKey.values()].filter((m) => m.away !== null).map((m) => m.name);
  }

  /** The threads that hold at least one member. */
  peers(): Iterable<HubPeer> {
    return this.#membersPerPeer.keys();
  }
}
