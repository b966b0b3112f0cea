/**
 * NdjsonReader splits a byte stream into newline-delimited JSON texts with a hard cap on the
 * size of one text, so a peer that never sends a newline cannot grow our memory.
 * It is the framing of both the control socket and the hub link.
 */
export class NdjsonReader {
  private parts: Buffer[] = [];
  private pending = 0;
  private overflowed = false;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Calls onLine for each complete line; returns false once a line exceeded maxBytes (stream is then unusable). */
  push(chunk: Buffer, onLine: (line: string) => void): boolean {
    if (this.overflowed) return false;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.pending + piece.length > this.maxBytes) return this.overflow();
      let line: string;
      if (this.pending === 0) {
        line = piece.toString("utf8");
      } else {
        this.parts.push(piece);
        line = Buffer.concat(this.parts, this.pending + piece.length).toString("utf8");
        this.parts = [];
        this.pending = 0;
      }
      if (line.length > 0 && line !== "\r") onLine(line);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.pending + rest.length > this.maxBytes) return this.overflow();
      // Copy: the caller may reuse the chunk's memory.
      this.parts.push(Buffer.from(rest));
      this.pending += rest.length;
    }
    return true;
  }

  get pendingBytes(): number {
    return this.pending;
  }

  private overflow(): false {
    this.overflowed = true;
    this.parts = [];
    this.pending = 0;
    return false;
  }
}
