/** One line for the sessions of a thread: to everyone (but `except`), or to one session (`to`). */
export interface Outgoing {
  line: string;
  except: string | null;
  to: string | null;
}

export interface PlannedWrites {
  /** What every signed-in session not in `own` gets, in order; null when there is nothing. */
  shared: Buffer | null;
  /** The sessions that must see a different sequence (a sender, a private message's target), with theirs. */
  own: Map<string, Buffer | null>;
}

function bytes(lines: string[]): Buffer | null {
  return lines.length === 0 ? null : Buffer.from(lines.join(""));
}

/**
 * Turns one event-loop turn's lines into as few buffers as possible: one encoded once and
 * shared by every session, plus one each for the few sessions whose sequence differs (the
 * sender of a line does not get it back; a private line goes to one session). So a thread
 * writes each session once per turn, whatever the number of lines, and the memory of a queued
 * write is one reference to a shared buffer, not a copy per session.
 */
export function planWrites(batch: readonly Outgoing[]): PlannedWrites {
  const special = new Set<string>();
  const broadcast: string[] = [];
  for (const item of batch) {
    if (item.to !== null) {
      special.add(item.to);
      continue;
    }
    broadcast.push(item.line);
    if (item.except !== null) special.add(item.except);
  }
  const own = new Map<string, Buffer | null>();
  for (const sid of special) {
    const lines: string[] = [];
    for (const item of batch) {
      if (item.to !== null ? item.to === sid : item.except !== sid) lines.push(item.line);
    }
    own.set(sid, bytes(lines));
  }
  return { shared: bytes(broadcast), own };
}
