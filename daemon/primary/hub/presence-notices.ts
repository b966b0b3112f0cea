import { joinedLine, leftLine, stormLine } from "../../../protocol/chat-lines.ts";
import { sortNames } from "../../../protocol/names.ts";
import { STORM_NOTICES, STORM_WINDOW_MS } from "../../shared/limits.ts";

/** Sends a notice to everyone online but `except` (a session id). */
export type NoticeSink = (line: string, except: string | null) => void;

interface Pending {
  name: string;
  sid: string;
  reason?: string;
}

/**
 * One kind of notice (joins, or leaves): told one by one, until more than STORM_NOTICES come
 * within STORM_WINDOW_MS; from then on they wait, and go out as one combined line when the window
 * the first of them opened is over (one line a second while the storm lasts).
 */
class NoticeKind {
  readonly pending = new Map<string, Pending>();
  /** When the last STORM_NOTICES notices of this kind came (ms), oldest first. */
  private readonly recent: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly verb: "joined" | "left";
  private readonly sink: NoticeSink;

  constructor(verb: "joined" | "left", sink: NoticeSink) {
    this.verb = verb;
    this.sink = sink;
  }

  add(key: string, entry: Pending, now: number): void {
    const storm = this.recent.length === STORM_NOTICES && this.recent[0]! > now - STORM_WINDOW_MS;
    this.recent.push(now);
    if (this.recent.length > STORM_NOTICES) this.recent.shift();
    // Once some wait, the later ones wait too, so notices keep their order.
    if (!storm && this.pending.size === 0) {
      this.sink(this.single(entry), entry.sid);
      return;
    }
    this.pending.set(key, entry);
    this.timer ??= setTimeout(() => this.flush(), STORM_WINDOW_MS).unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return;
    const entries = [...this.pending.values()];
    this.pending.clear();
    if (entries.length === 1) this.sink(this.single(entries[0]!), entries[0]!.sid);
    // Everyone gets the combined line, the users it names included: it is news to most of them.
    else this.sink(stormLine(this.verb, sortNames(entries.map((e) => e.name))), null);
  }

  private single(entry: Pending): string {
    return this.verb === "joined" ? joinedLine(entry.name) : leftLine(entry.name, entry.reason);
  }
}

/**
 * PresenceNotices tells everyone online who joined and who left, each user exactly once, in one
 * of the two forms chat-protocol.md allows: `* alice joined` one by one, or in a storm one
 * combined line a second (`* 14 joined: alice, bob, ...`). A user's own notices stay in order:
 * a join still waiting is told before that user's leave (and a leave before a new join), and
 * before the first line the user says, so nobody reads `<bob> hi` before `* bob joined`.
 */
export class PresenceNotices {
  private readonly joins: NoticeKind;
  private readonly leaves: NoticeKind;
  private readonly now: () => number;

  constructor(sink: NoticeSink, now: () => number = Date.now) {
    this.joins = new NoticeKind("joined", sink);
    this.leaves = new NoticeKind("left", sink);
    this.now = now;
  }

  joined(key: string, name: string, sid: string): void {
    if (this.leaves.pending.has(key)) this.leaves.flush();
    this.joins.add(key, { name, sid }, this.now());
  }

  left(key: string, name: string, sid: string, reason?: string): void {
    if (this.joins.pending.has(key)) this.joins.flush();
    this.leaves.add(key, { name, sid, reason }, this.now());
  }

  /** The user of key says something: a join of theirs still waiting goes out first. */
  speaking(key: string): void {
    if (this.joins.pending.has(key)) this.joins.flush();
  }

  /** Sends what waits (a stop, a test). */
  flush(): void {
    this.joins.flush();
    this.leaves.flush();
  }
}
