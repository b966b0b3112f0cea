import type { RedisReply } from "./redis-link.ts";

/**
 * What `XINFO STREAM` (Redis 7) tells of the stream, in one atomic answer: how many entries were
 * ever added, how many of those the trim took (tsd never deletes an entry, so those are the
 * oldest), the first entry left and the last id given.
 */
export interface StreamInfo {
  entriesAdded: number;
  trimmed: number;
  firstId: string;
  lastId: string;
}

/** XINFO STREAM's answer (`[field, value, ...]`) as a StreamInfo; null when it is not one. */
export function parseStreamInfo(reply: RedisReply): StreamInfo | null {
  if (!Array.isArray(reply)) return null;
  const field = new Map<string, RedisReply>();
  for (let i = 0; i + 1 < reply.length; i += 2) field.set(String(reply[i]), reply[i + 1]!);
  const length = Number(field.get("length"));
  const entriesAdded = Number(field.get("entries-added"));
  const firstId = field.get("recorded-first-entry-id");
  const lastId = field.get("last-generated-id");
  if (!Number.isFinite(length) || !Number.isFinite(entriesAdded)) return null;
  if (typeof firstId !== "string" || typeof lastId !== "string") return null;
  return { entriesAdded, trimmed: Math.max(0, entriesAdded - length), firstId, lastId };
}

/** Orders two stream ids (`ms-seq`): negative, zero or positive. */
export function compareIds(a: string, b: string): number {
  const [aMs = 0, aSeq = 0] = a.split("-").map(Number);
  const [bMs = 0, bSeq = 0] = b.split("-").map(Number);
  return aMs - bMs || aSeq - bSeq;
}

/**
 * A batch read from the cursor, held against the stream as XINFO STREAM saw it just after. The
 * reader counts its place in the stream (`position`: the cursor is the position-th entry ever
 * added). When the stream's first entry is past the cursor, every entry up to position `trimmed`
 * is gone: those the batch holds were read, the others never will be (`lost`). Returns the lost
 * and the position of the batch's last entry, or of the last entry gone when the whole batch was
 * trimmed since (the next read starts past the trim).
 */
export function holdAgainstStream(
  cursor: string,
  position: number,
  batch: readonly string[],
  info: StreamInfo,
): { lost: number; position: number } {
  if (compareIds(info.firstId, cursor) <= 0) return { lost: 0, position: position + batch.length };
  let readBeforeFirst = 0;
  while (readBeforeFirst < batch.length && compareIds(batch[readBeforeFirst]!, info.firstId) < 0)
    readBeforeFirst++;
  const lost = Math.max(0, info.trimmed - position - readBeforeFirst);
  const after = batch.length - readBeforeFirst;
  return {
    lost,
    position: after > 0 ? info.trimmed + after : Math.max(info.trimmed, position + batch.length),
  };
}
