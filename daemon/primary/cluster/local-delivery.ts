import {
  actionLine,
  chatLine,
  errorLine,
  kickedLine,
  SIGNED_IN_ELSEWHERE,
} from "../../../protocol/chat-lines.ts";
import type { HistoryEntry, HubToThread } from "../../../protocol/hub-messages.ts";
import { nameKey } from "../../../protocol/names.ts";
import { PresenceNotices } from "../hub/presence-notices.ts";
import type { Roster } from "../hub/roster.ts";
import type { ClusterEvent } from "./cluster-events.ts";

const FELL_BEHIND = errorLine("this server fell behind the chat and missed some lines");

/**
 * LocalDelivery is what the cluster's stream does on this daemon: chat lines, joins and leaves to
 * every local thread with members (one message per thread, as the embedded hub does), drops and
 * private messages to their session, and the history: the chat lines read, oldest first, at most
 * historyKeep, the same on every daemon because every daemon reads the same stream.
 */
export class LocalDelivery {
  private readonly roster: Roster;
  private readonly node: string;
  private readonly historyKeep: number;
  private readonly moderationChanged: () => void;
  private readonly ring: HistoryEntry[] = [];
  /**
   * Joins and leaves: one by one, or in a storm one combined line a second, as the embedded hub
   * tells them. Each daemon combines what it reads, so each user is announced once on each.
   */
  private readonly notices = new PresenceNotices((line, except) => this.broadcast(line, except || null));

  constructor(opts: { roster: Roster; node: string; historyKeep: number; moderationChanged: () => void }) {
    this.roster = opts.roster;
    this.node = opts.node;
    this.historyKeep = opts.historyKeep;
    this.moderationChanged = opts.moderationChanged;
  }

  /** The newest n chat lines read. */
  newest(n: number): HistoryEntry[] {
    return this.ring.slice(-n);
  }

  remember(h: HistoryEntry): void {
    this.ring.push(h);
    if (this.ring.length > this.historyKeep) this.ring.splice(0, this.ring.length - this.historyKeep);
  }

  /** Closes a session of this daemon with a last line. */
  dropLocal(sid: string, line: string, reason: string): void {
    const member = this.roster.session(sid);
    if (!member) return;
    this.roster.remove(member);
    member.peer.send({ k: "drop", sid, line, reason });
  }

  apply(event: ClusterEvent): void {
    switch (event.t) {
      case "line": {
        const except = event.node === this.node ? (event.sid ?? null) : null;
        if (event.h) {
          // A join of the speaker's still waiting in a storm goes out before the line.
          if (event.from !== undefined) this.notices.speaking(event.from);
          this.remember(event.h);
          const line = event.h.action
            ? actionLine(event.h.name, event.h.text)
            : chatLine(event.h.name, event.h.text);
          this.broadcast(line, except, event.from);
          return;
        }
        if (event.line !== undefined) {
          this.broadcast(event.line, except);
          return;
        }
        // A session id means something only on its own node ("": nobody is left out).
        if (event.joined !== undefined)
          this.notices.joined(nameKey(event.joined), event.joined, except ?? "");
        else if (event.left !== undefined)
          this.notices.left(nameKey(event.left), event.left, except ?? "", event.reason || undefined);
        return;
      }
      case "drop":
        if (event.node !== this.node) return;
        if (event.takeover) this.dropLocal(event.sid, SIGNED_IN_ELSEWHERE, "signed in from elsewhere");
        else this.dropLocal(event.sid, event.line ?? kickedLine(), event.reason ?? "kicked by the operator");
        return;
      case "moderation":
        this.moderationChanged();
        return;
      case "direct": {
        if (event.node !== this.node) return;
        const member = this.roster.session(event.sid);
        if (member) member.peer.send({ k: "direct", sid: event.sid, line: event.line, from: event.from });
        return;
      }
    }
  }

  /** This daemon's reader fell behind the stream's trim: every local user is told that lines were missed. */
  fellBehind(): void {
    this.broadcast(FELL_BEHIND, null);
  }

  /** One message per thread that holds members, as the embedded hub does. */
  private broadcast(line: string, except: string | null, from?: string): void {
    const message: HubToThread =
      from === undefined ? { k: "deliver", line, except } : { k: "deliver", line, except, from };
    for (const peer of this.roster.peers()) peer.send(message);
  }
}
