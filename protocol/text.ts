/**
 * Text handling for chat lines: UTF-8 decoding that never throws, and the sanitiser
 * that keeps terminal control out of anything relayed, stored or logged.
 */

const decoder = new TextDecoder("utf-8", { fatal: false });
const encoder = new TextEncoder();

/** decodeUtf8 decodes one whole line; invalid byte sequences become U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** encodeUtf8 encodes text as UTF-8. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * FORBIDDEN matches every character the sanitiser removes: C0 controls except TAB, DEL,
 * C1 controls, the line and paragraph separators (U+2028, U+2029), and the bidirectional
 * embeddings/overrides (U+202A-U+202E) and isolates (U+2066-U+2069). No g flag, so test()
 * keeps no state.
 */
const FORBIDDEN = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/;

/** hasControlChars reports whether text holds any character sanitize would remove (used to refuse names). */
export function hasControlChars(text: string): boolean {
  return FORBIDDEN.test(text);
}

const ESC = 0x1b;
const BEL = 0x07;
const CSI8 = 0x9b;
const OSC8 = 0x9d;
const ST8 = 0x9c;

function isForbidden(c: number): boolean {
  return c < 0x20
    ? c !== 0x09
    : c < 0x7f
      ? false
      : c <= 0x9f || (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/** skipCsi returns the index after a CSI body starting at i (parameters, intermediates, final byte). */
function skipCsi(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c >= 0x40 && c <= 0x7e) return i + 1; // final byte
    if (c < 0x20 || c > 0x3f) return i; // not part of a CSI: the sequence was broken here
    i++;
  }
  return n;
}

/** skipOsc returns the index after an OSC body starting at i, ended by BEL, ESC \ or ST; unterminated, it runs to the end. */
function skipOsc(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === BEL || c === ST8) return i + 1;
    if (c === ESC) return i + 1 < n && text.charCodeAt(i + 1) === 0x5c ? i + 2 : i + 1;
    i++;
  }
  return n;
}

/** skipEscape returns the index after the escape sequence whose ESC is at i - 1. */
function skipEscape(text: string, i: number): number {
  const n = text.length;
  if (i >= n) return n;
  const c = text.charCodeAt(i);
  if (c === 0x5b) return skipCsi(text, i + 1); // ESC [
  if (c === 0x5d) return skipOsc(text, i + 1); // ESC ]
  // ESC, intermediates 0x20-0x2F, then one final 0x30-0x7E (ESC c, ESC 7, ESC ( B, ...).
  while (i < n) {
    const d = text.charCodeAt(i);
    if (d >= 0x20 && d <= 0x2f) i++;
    else return d >= 0x30 && d <= 0x7e ? i + 1 : i;
  }
  return n;
}

/**
 * sanitize removes control characters (C0 except TAB, DEL, C1) and bidi overrides and
 * isolates. An ESC takes its escape sequence with it (CSI to its final byte, OSC to BEL or
 * ESC \, otherwise ESC and the next character), and so do the 8-bit CSI and OSC (U+009B,
 * U+009D), so no "[2J" debris is left. Clean text is returned unchanged. The result never
 * contains a forbidden character, so sanitize is idempotent.
 */
export function sanitize(text: string): string {
  if (!FORBIDDEN.test(text)) return text;
  const n = text.length;
  let out = "";
  let start = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (!isForbidden(c)) {
      i++;
      continue;
    }
    if (i > start) out += text.slice(start, i);
    if (c === ESC) i = skipEscape(text, i + 1);
    else if (c === CSI8) i = skipCsi(text, i + 1);
    else if (c === OSC8) i = skipOsc(text, i + 1);
    else i++;
    start = i;
  }
  if (n > start) out += text.slice(start, n);
  return out;
}
