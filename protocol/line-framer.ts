/**
 * Line framing for the chat service: splits a byte stream into lines at LF, CR LF,
 * CR NUL or a lone CR, with a hard bound on line length and on buffered memory.
 *
 * Pure byte-level state machine, no I/O.
 */

const LF = 10;
const CR = 13;
const NUL = 0;
/** The erase keys of a terminal that sends each key as typed: BS (Ctrl-H), DEL, and Ctrl-U (kill the line). */
const BS = 0x08;
const DEL = 0x7f;
const NAK = 0x15;

/** First capacity of the partial-line buffer; it doubles up to maxLine as needed. */
const INITIAL_PENDING = 256;

/**
 * LineFramer cuts lines out of a byte stream fed in chunks of any size.
 *
 * - A CR ending a chunk followed by LF or NUL at the start of the next is one line end.
 * - Empty lines are not emitted unless emitEmpty is set.
 * - A line longer than maxLine bytes (not counting its end) is reported once through
 *   onTooLong, its bytes are discarded, and framing resumes after its line end; no more
 *   than maxLine bytes are ever buffered.
 *
 * - With lineEditing, BS and DEL erase the last code point of the line being received and
 *   Ctrl-U all of it, as they arrive, so the line emitted is the one the user meant and an
 *   erase does not count against maxLine (telnet in character mode sends every key).
 *
 * An emitted line is either a subarray of the chunk passed to push (the line lies wholly
 * inside it) or a fresh array; it never aliases the framer's own buffer, so it may be kept.
 */
export class LineFramer {
  /** May change between pushes (a live --max-line): a partial line already over it is then cut as too long. */
  maxLine: number;
  /** Emit empty lines too (a sign-in prompt answers them); by default they are dropped. */
  readonly emitEmpty: boolean;
  /** BS, DEL and Ctrl-U edit the line being received instead of being part of it. */
  readonly lineEditing: boolean;
  #pending: Uint8Array | null = null;
  #pendingLen = 0;
  /** discarding the rest of a too-long line until its line end */
  #skipping = false;
  /** the previous chunk ended with a CR: an LF or NUL starting the next one belongs to it */
  #afterCR = false;

  constructor(maxLine: number, opts: { emitEmpty?: boolean; lineEditing?: boolean } = {}) {
    this.emitEmpty = opts.emitEmpty ?? false;
    this.lineEditing = opts.lineEditing ?? false;
    if (!Number.isInteger(maxLine) || maxLine < 1)
      throw new RangeError(`maxLine must be a positive integer, got ${maxLine}`);
    this.maxLine = maxLine;
  }

  /** pendingBytes is the size of the partial line buffered so far (at most maxLine). */
  get pendingBytes(): number {
    return this.#pendingLen;
  }

  /** push feeds one chunk, calling onLine for every complete non-empty line and onTooLong once per over-long line. */
  push(chunk: Uint8Array, onLine: (line: Uint8Array) => void, onTooLong: () => void): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.lineEditing && hasEraseKey(chunk)) {
      this.#pushEditing(chunk, onLine, onTooLong);
      return;
    }
    let i = 0;
    if (this.#afterCR) {
      this.#afterCR = false;
      const b = chunk[0];
      if (b === LF || b === NUL) i = 1;
    }
    // Next LF / CR at or after i; -1 = none left in this chunk. Cached so a chunk of many
    // lines is scanned once per terminator kind, not once per line.
    let lf = -2;
    let cr = -2;
    while (i < n) {
      if (lf !== -1 && lf < i) lf = chunk.indexOf(LF, i);
      if (cr !== -1 && cr < i) cr = chunk.indexOf(CR, i);
      const j = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (j === -1) {
        this.#keepPartial(chunk, i, n, onTooLong);
        return;
      }
      this.#endLine(chunk, i, j, onLine, onTooLong);
      if (chunk[j] === CR) {
        if (j + 1 < n) {
          const b = chunk[j + 1];
          i = b === LF || b === NUL ? j + 2 : j + 1;
        } else {
          this.#afterCR = true;
          i = j + 1;
        }
      } else {
        i = j + 1;
      }
    }
  }

  /** push for a chunk holding an erase key: byte by byte, the edits applied to the pending line as they come. */
  #pushEditing(chunk: Uint8Array, onLine: (line: Uint8Array) => void, onTooLong: () => void): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.#afterCR) {
        this.#afterCR = false;
        if (b === LF || b === NUL) continue;
      }
      if (b === LF || b === CR) {
        this.#afterCR = b === CR;
        this.#endLine(chunk, i, i, onLine, onTooLong);
        continue;
      }
      if (this.#skipping) continue;
      if (b === BS || b === DEL) {
        this.#pendingLen = lastCodePointStart(this.#pending, this.#pendingLen);
      } else if (b === NAK) {
        this.#pendingLen = 0;
      } else {
        this.#keepPartial(chunk, i, i + 1, onTooLong);
      }
    }
  }

  #keepPartial(chunk: Uint8Array, start: number, end: number, onTooLong: () => void): void {
    if (this.#skipping) return;
    const len = end - start;
    const total = this.#pendingLen + len;
    if (total > this.maxLine) {
      this.#pendingLen = 0;
      this.#skipping = true;
      onTooLong();
      return;
    }
    let buf = this.#pending;
    if (buf === null || buf.length < total) {
      let cap = buf === null ? INITIAL_PENDING : buf.length * 2;
      while (cap < total) cap *= 2;
      if (cap > this.maxLine) cap = this.maxLine;
      const grown = new Uint8Array(cap);
      if (buf !== null && this.#pendingLen > 0) grown.set(buf.subarray(0, this.#pendingLen));
      this.#pending = buf = grown;
    }
    buf.set(chunk.subarray(start, end), this.#pendingLen);
    this.#pendingLen = total;
  }

  #endLine(
    chunk: Uint8Array,
    start: number,
    end: number,
    onLine: (line: Uint8Array) => void,
    onTooLong: () => void,
  ): void {
    if (this.#skipping) {
      // The over-long line ends here; it was already reported.
      this.#skipping = false;
      return;
    }
    const len = end - start;
    const pendingLen = this.#pendingLen;
    if (pendingLen === 0) {
      if (len > this.maxLine) onTooLong();
      else if (len > 0 || this.emitEmpty) onLine(chunk.subarray(start, end));
      return;
    }
    this.#pendingLen = 0;
    const total = pendingLen + len;
    if (total > this.maxLine) {
      onTooLong();
      return;
    }
    const line = new Uint8Array(total);
    line.set(this.#pending!.subarray(0, pendingLen));
    line.set(chunk.subarray(start, end), pendingLen);
    onLine(line);
  }
}

/** hasEraseKey reports whether chunk holds BS, DEL or Ctrl-U (three memchr scans, so plain chunks stay on the fast path). */
function hasEraseKey(chunk: Uint8Array): boolean {
  return chunk.indexOf(DEL) !== -1 || chunk.indexOf(BS) !== -1 || chunk.indexOf(NAK) !== -1;
}

/**
 * lastCodePointStart returns where the last UTF-8 code point of buf[0, len) starts: its lead
 * byte and the continuation bytes after it (an emoji's four bytes, a Cyrillic letter's two),
 * or the last byte alone when it is ASCII or not part of a sequence (which decodes as one U+FFFD).
 */
function lastCodePointStart(buf: Uint8Array | null, len: number): number {
  if (buf === null || len === 0) return 0;
  let p = len - 1;
  while (p > 0 && len - p < 4 && (buf[p]! & 0xc0) === 0x80) p--;
  const lead = buf[p]!;
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return lead >= 0xc0 && len - p <= size ? p : len - 1;
}
