import type { HistoryEntry } from "./hub-messages.ts";

/** What one record costs in a reply: its text and name in UTF-8, plus the line's fixed frame. */
function recordBytes(record: HistoryEntry): number {
  return Buffer.byteLength(record.text) + Buffer.byteLength(record.name) + 32;
}

/**
 * newestWithin keeps the newest records whose total size fits in `budget` bytes (oldest first,
 * as given), and counts the older ones left out. A reply of history is so bounded however long
 * the lines in it are: a record too big for the budget on its own is left out, never sent.
 */
export function newestWithin(
  records: readonly HistoryEntry[],
  budget: number,
): { records: HistoryEntry[]; omitted: number } {
  let used = 0;
  let first = records.length;
  while (first > 0) {
    const cost = recordBytes(records[first - 1]!);
    if (used + cost > budget) break;
    used += cost;
    first--;
  }
  return { records: records.slice(first), omitted: first };
}
