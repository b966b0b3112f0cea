import { compareCodePoints, nameKey } from "../../../protocol/names.ts";
import { OnlineText } from "../../../protocol/online-text.ts";
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
  /**
   * Every member in /who's order (case-folded name, then name, by code point), kept sorted as
   * members come and go: each sign-in's online list is then a copy, not a sort of every name
   * (at 10,000 members a sort with its case folding cost milliseconds per sign-in).
   */
  readonly #sorted: Member[] = [];
  /** The online line's text, changed with #sorted: a sign-in's line is then a copy of it. */
  readonly #text = new OnlineText();

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
    const at = this.#position(member);
    this.#sorted.splice(at, 0, member);
    this.#text.insert(member.name, member.away !== null, this.#sorted[at + 1]?.name ?? null);
  }

  remove(member: Member): void {
    this.#bySid.delete(member.sid);
    if (this.#byKey.get(member.key) === member) this.#byKey.delete(member.key);
    for (
      let i = this.#position(member);
      i < this.#sorted.length && byWhoOrder(this.#sorted[i]!, member) === 0;
      i++
    ) {
      if (this.#sorted[i] !== member) continue;
      this.#sorted.splice(i, 1);
      this.#text.remove(member.name);
      break;
    }
    const n = (this.#membersPerPeer.get(member.peer) ?? 1) - 1;
    if (n <= 0) this.#membersPerPeer.delete(member.peer);
    else this.#membersPerPeer.set(member.peer, n);
  }

  /** Marks member away with text, or back (null). */
  setAway(member: Member, text: string | null): void {
    const changed = (member.away === null) !== (text === null);
    member.away = text;
    if (changed && this.#bySid.get(member.sid) === member) this.#text.setAway(member.name, text !== null);
  }

  /** `* N online: a, b (away), c` as /who shows it now (protocol/chat-lines.ts onlineLine), at the cost of a copy. */
  onlineLine(): string {
    return this.#text.line;
  }

  /** peer's members, in sign-in order. */
  membersOf(peer: HubPeer): Member[] {
    return [...this.#bySid.values()].filter((member) => member.peer === peer);
  }

  /** Every member, in name order. */
  members(): Member[] {
    return [...this.#sorted];
  }

  /** The names signed in, sorted for people. */
  names(): string[] {
    return this.#sorted.map((m) => m.name);
  }

  /** The names of the members who are away. */
  awayNames(): string[] {
    return [...this.#byKey.values()].filter((m) => m.away !== null).map((m) => m.name);
  }

  /** Where member goes in #sorted: before the first one that is not ordered before it. */
  #position(member: Member): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byWhoOrder(this.#sorted[mid]!, member) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The threads that hold at least one member. */
  peers(): Iterable<HubPeer> {
    return this.#membersPerPeer.keys();
  }
}

/** /who's order (protocol/names.ts sortNames): a member's key is its name case-folded. */
function byWhoOrder(a: Member, b: Member): number {
  return compareCodePoints(a.key, b.key) || compareCodePoints(a.name, b.name);
}
