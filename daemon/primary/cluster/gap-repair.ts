import { ACCOUNT_REMOVED, kickedLine, SIGNED_IN_ELSEWHERE } from "../../../protocol/chat-lines.ts";
import type { Roster } from "../hub/roster.ts";
import type { ClusterLog } from "./cluster-limits.ts";
import type { ClusterPresence, LocalStanding } from "./cluster-presence.ts";
import type { LocalDelivery } from "./local-delivery.ts";
import type { RedisModeration } from "./redis-moderation.ts";

/**
 * GapRepair closes what the drops lost to the stream's trim would have closed. A reader further
 * behind than the trim may have missed a kick, a ban, an account's removal or a takeover of one of
 * this daemon's sessions; at each gap its sessions are held against Redis (one script per thousand
 * sessions: O(local sessions), and only on a gap), and each session the cluster no longer counts
 * as this daemon's is closed with the line its drop would have given: `* signed in from elsewhere`
 * when another session holds the name, the removal line when the account is gone, the ban's line
 * when a ban in force matches it, else the kick's (without its reason, which only the lost event
 * held). Off line is believed only when it is still so after the next heartbeat: a node reaped
 * while paused has its lease renewed by a beat and its members signed in again by the rejoin that
 * follows, and a check between the two would take them for kicked. Gaps found while a check runs
 * are served by one more check after it.
 */
export class GapRepair {
  private readonly opts: {
    roster: Roster;
    presence: ClusterPresence;
    moderation: RedisModeration;
    delivery: LocalDelivery;
    log: ClusterLog;
    /** Resolves once the next heartbeat, and the rejoin it may start, are done. */
    afterNextBeat: () => Promise<void>;
  };
  private running: Promise<void> | null = null;
  private again = false;

  constructor(opts: GapRepair["opts"]) {
    this.opts = opts;
  }

  /** A gap was found: check now, or once more after the check under way. */
  gapFound(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.check()
      .catch((error: Error) =>
        this.opts.log("warn", "cannot check this daemon's sessions against the cluster after missed events", {
          error: error.message,
        }),
      )
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.gapFound();
        }
      });
  }

  private async check(): Promise<void> {
    const { roster, presence, moderation, delivery, log } = this.opts;
    const members = roster.members();
    if (members.length === 0) return;
    // Bans first: a ban's own `moderation` event may be among the lost.
    await moderation.reload();
    const standing = await presence.standing(members);
    if (!standing) return;
    // Off line may be a lost kick's doing, or this node reaped (paused past its lease) with its
    // beat's renewal seen but not yet the rejoin that follows it: off line again after the next
    // beat is the kick's.
    const off = [...standing].filter(([, where]) => where === "off").map(([member]) => member);
    if (off.length > 0) {
      await this.opts.afterNextBeat();
      const again = await presence.standing(off);
      if (!again) return;
      for (const [member, where] of again) standing.set(member, where);
    }
    const closed: Record<Exclude<LocalStanding, "here">, number> = { elsewhere: 0, off: 0, removed: 0 };
    for (const [member, where] of standing) {
      // Left, or dropped by an event read meanwhile.
      if (where === "here" || roster.session(member.sid) !== member) continue;
      closed[where]++;
      if (where === "elsewhere") {
        delivery.dropLocal(member.sid, SIGNED_IN_ELSEWHERE, "signed in from elsewhere");
      } else if (where === "removed") {
        delivery.dropLocal(member.sid, ACCOUNT_REMOVED, "account removed by the operator");
      } else {
        const ban = moderation.nameBan(member.key) ?? moderation.addressBan(member.address);
        if (ban)
          delivery.dropLocal(member.sid, kickedLine(ban.reason ?? undefined), "banned by the operator");
        else delivery.dropLocal(member.sid, kickedLine(), "kicked by the operator");
      }
    }
    const total = closed.elsewhere + closed.off + closed.removed;
    log(total > 0 ? "warn" : "info", "sessions checked against the cluster after missed events", {
      sessions: members.length,
      closed: total,
      takenOver: closed.elsewhere,
      offLine: closed.off,
      accountGone: closed.removed,
    });
  }
}
