import type { Author, HistoryEntry } from "../../../protocol/hub-messages.ts";

/**
 * What travels on the cluster's one stream, as the JSON text of field `e`: every daemon reads
 * every event in the stream's order, so a line reaches each daemon once, in one total order.
 */
export type ClusterEvent =
  /**
   * A line for everyone: `line` as formatted by the daemon that sent it, or a join or leave
   * (formatted by each reader: the reaping script writes those). node and sid name the session
   * it came from, whom it is not shown to; from: its author's key (for /ignore); h: a chat line
   * or /me, kept in the history.
   */
  | {
      t: "line";
      line?: string;
      joined?: string;
      left?: string;
      reason?: string;
      node?: string;
      sid?: string;
      from?: string;
      h?: HistoryEntry;
    }
  /** Close that node's session: taken over elsewhere (nobody told), or kicked (`line`, and announced left). */
  | {
      t: "drop";
      node: string;
      sid: string;
      takeover?: boolean;
      line?: string;
      reason?: string;
      key?: string;
      name?: string;
    }
  /** A private message for that node's session. */
  | { t: "direct"; node: string; sid: string; line: string; from: Author }
  /** The bans or mutes changed (cluster/redis-moderation.ts): every daemon reads them again. */
  | { t: "moderation" };

/** The stream entry's fields (`[name, value, ...]`) as an event; null when it is not one of ours. */
export function parseEvent(fields: unknown): ClusterEvent | null {
  if (!Array.isArray(fields)) return null;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== "e") continue;
    try {
      const event = JSON.parse(String(fields[i + 1])) as ClusterEvent;
      return typeof event === "object" && event !== null && typeof event.t === "string" ? event : null;
    } catch {
      return null;
    }
  }
  return null;
}
