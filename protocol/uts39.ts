/**
 * UTS #39 (Unicode security mechanisms) for names: which characters Unicode allows in
 * identifiers, and the confusable skeleton that makes look-alike strings equal. The data is
 * Unicode's own (protocol/uts39-data.ts, made by scripts/unicode-names-data.ts); it is split
 * on first use, so a thread that never checks a name never pays for it.
 */

import { ALLOWED, CONFUSABLES } from "./uts39-data.ts";

interface Tables {
  /** Identifier_Status=Allowed as sorted inclusive ranges: start, end, start, end, ... */
  allowed: Uint32Array;
  /** CONFUSABLES' entries, `source:prototype` in hex, sorted by source: searched, never indexed. */
  confusables: string[];
  /** Prototypes looked up so far (null: none), so the common letters cost one map look-up. */
  seen: Map<number, string | null>;
}

/** Past this many remembered look-ups the memo starts again: a bound on memory, not a cache policy. */
const MAX_SEEN = 4096;

let tables: Tables | undefined;

function data(): Tables {
  tables ??= load();
  return tables;
}

/** Parsing is two native splits and 388 ranges (about 1 ms); the confusables are searched in place. */
function load(): Tables {
  const ranges = ALLOWED.trim().split(/\s+/);
  const allowed = new Uint32Array(ranges.length * 2);
  ranges.forEach((range, i) => {
    const [start, end = start] = range.split("-");
    allowed[2 * i] = Number.parseInt(start!, 16);
    allowed[2 * i + 1] = Number.parseInt(end, 16);
  });
  return { allowed, confusables: CONFUSABLES.trim().split(/\s+/), seen: new Map() };
}

/** isAllowedInIdentifier tells whether a code point has Identifier_Status=Allowed. */
export function isAllowedInIdentifier(codePoint: number): boolean {
  const { allowed } = data();
  let lo = 0;
  let hi = allowed.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (codePoint < allowed[2 * mid]!) hi = mid - 1;
    else if (codePoint > allowed[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/** prototypeOf is a code point's confusable prototype, or null when it is its own. */
function prototypeOf(codePoint: number): string | null {
  const { confusables, seen } = data();
  const known = seen.get(codePoint);
  if (known !== undefined) return known;
  let found: string | null = null;
  let lo = 0;
  let hi = confusables.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const entry = confusables[mid]!;
    const source = Number.parseInt(entry, 16); // stops at the colon
    if (codePoint < source) hi = mid - 1;
    else if (codePoint > source) lo = mid + 1;
    else {
      found = String.fromCodePoint(
        ...entry
          .slice(entry.indexOf(":") + 1)
          .split(".")
          .map((hex) => Number.parseInt(hex, 16)),
      );
      break;
    }
  }
  if (seen.size >= MAX_SEEN) seen.clear();
  seen.set(codePoint, found);
  return found;
}

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * skeleton is UTS #39's skeleton(X): NFD, default-ignorable code points removed, each code
 * point replaced by its confusable prototype, NFD again. Two strings are confusable when
 * their skeletons are equal; a skeleton is for comparing, never for showing.
 */
export function skeleton(text: string): string {
  let out = "";
  for (const ch of text.normalize("NFD").replace(DEFAULT_IGNORABLE, "")) {
    out += prototypeOf(ch.codePointAt(0)!) ?? ch;
  }
  return out.normalize("NFD");
}
