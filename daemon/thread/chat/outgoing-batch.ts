/**
 * One line for the sessions of a thread: to everyone (but `except`), or to one session (`to`);
 * `from` is the account key of a user's line (chat, /me, /msg), which sessions ignoring that user do not get.
 */
export interface Outgoing {
  line: string;
  except: string | null;
  to: string | null;
  from?: string;
}

export interface PlannedWrites {
  /** What every signed-in session not in `own` gets, in order; null when there is nothing. */
  shared: Buffer | null;
  /**
   * The sessions that must see a different sequence (a sender, a private message's target, one
   * that ignores the author of a line in this turn), with theirs.
   */
  own: Map<string, Buffer | null>;
}

/** Sessions that ignore someone, by session id: the account keys they ignore. */
export type IgnoringSessions = ReadonlyMap<string, ReadonlySet<string>>;

const NOBODY_IGNORES: IgnoringSessions = new Map();

function bytes(lines: string[]): Buffer | null {
  return lines.length === 0 ? null : Buffer.from(lines.join(""));
}

/**
 * Turns one event-loop turn's lines into as few buffers as possible: one encoded once and
 * shared by every session, plus one each for the few sessions whose sequence differs (the
 * sender of a line does not get it back; a private line goes to one session; a session that
 * ignores the author of one of this turn's lines gets the turn without it). So a thread
 * writes each session once per turn, whatever the number of lines, and the memory of a queued
 * write is one reference to a shared buffer, not a copy per session. Only the sessions that
 * ignore someone are looked at for ignores: the others pay nothing for them.
 */
export function planWrites(
  batch: readonly Outgoing[],
  ignoring: IgnoringSessions = NOBODY_IGNORES,
): PlannedWrites {
  const special = new Set<string>();
  const broadcast: string[] = [];
  const authors = new Set<string>();
  for (const item of batch) {
    if (item.from !== undefined) authors.add(item.from);
    if (item.to !== null) {
      special.add(item.to);
      continue;
    }
    broadcast.push(item.line);
    if (item.except !== null) special.add(item.except);
  }
  if (authors.size > 0) {
    for (const [sid, ignored] of ignoring) {
      for (const author of authors) {
        if (!ignored.has(author)) continue;
        special.add(sid);
        break;
      }
    }
  }
  const own = new Map<string, Buffer | null>();
  for (const sid of special) {
    const ignored = ignoring.get(sid);
    const lines: string[] = [];
    for (const item of batch) {
      if (item.to !== null ? item.to !== sid : item.except === sid) continue;
      if (ignored && item.from !== undefined && ignored.has(item.from)) continue;
      lines.push(item.line);
    }
    own.set(sid, bytes(lines));
  }
  return { shared: bytes(broadcast), own };
}
