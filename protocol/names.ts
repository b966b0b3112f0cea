/**
 * User names: what a valid name is, its display form, the key that makes names unique
 * without regard to case or compatibility forms, and the skeleton that makes look-alike
 * names (UTS #39) equal.
 */

import { hasControlChars } from "./text.ts";
import { isAllowedInIdentifier, skeleton } from "./uts39.ts";

export const NAME_MAX_CHARS = 32;

/** NAME_RULE is the rule as told to a person whose name was refused. */
export const NAME_RULE = "names are 1-32 letters, digits, _ - or ., with letters from one script only";

export type NameCheck =
  | { ok: true; name: string; key: string; skeletons: string[] }
  | { ok: false; reason: string };

/** A letter with its combining marks, or a digit of any script, _, - or . */
const NAME_CHARS = /^(?:\p{L}\p{M}*|[\p{Nd}_.-])+$/u;

/**
 * SCRIPT_GROUPS are the letter sets a name may draw from: one group per name. They are
 * the Recommended scripts of UAX #31 (scripts in everyday use); Han with Hiragana and
 * Katakana (Japanese), with Bopomofo (Chinese) and with Hangul (Korean) are each one
 * group, as in the "highly restrictive" level of UTS #39. Script_Extensions is used so
 * that a shared letter such as the Katakana-Hiragana prolonged sound mark counts as
 * Japanese. Letters of other scripts (historic, or rarely used and full of look-alikes,
 * such as Cherokee) are refused.
 */
const SCRIPT_GROUPS: readonly RegExp[] = [
  ["Latin"],
  ["Cyrillic"],
  ["Greek"],
  ["Armenian"],
  ["Georgian"],
  ["Hebrew"],
  ["Arabic"],
  ["Thaana"],
  ["Devanagari"],
  ["Bengali"],
  ["Gurmukhi"],
  ["Gujarati"],
  ["Oriya"],
  ["Tamil"],
  ["Telugu"],
  ["Kannada"],
  ["Malayalam"],
  ["Sinhala"],
  ["Thai"],
  ["Lao"],
  ["Tibetan"],
  ["Myanmar"],
  ["Ethiopic"],
  ["Khmer"],
  ["Han", "Hiragana", "Katakana"],
  ["Han", "Bopomofo"],
  ["Hangul", "Han"],
].map((scripts) => new RegExp(`^(?:\\P{L}|[${scripts.map((s) => `\\p{scx=${s}}`).join("")}])*$`, "u"));

function oneScript(name: string): boolean {
  for (const group of SCRIPT_GROUPS) if (group.test(name)) return true;
  return false;
}

/**
 * nameKey is the uniqueness key of an (already NFKC) name: an approximation of
 * NFKC_Casefold. JavaScript has no case folding, so the name is upper-cased and then
 * lower-cased (which folds ß to ss and ſ to s like full case folding does), final sigma
 * is folded to σ and ẞ to ss, and the result normalised again because case mapping can
 * leave NFKC. Where it differs from true folding it only merges more (dotless ı keys as
 * i), which errs on the side of fewer look-alike names.
 */
export function nameKey(name: string): string {
  return foldCase(name.normalize("NFKC")).normalize("NFKC");
}

function foldCase(text: string): string {
  let k = text.toUpperCase().toLowerCase();
  if (k.includes("ς")) k = k.replaceAll("ς", "σ");
  if (k.includes("ß")) k = k.replaceAll("ß", "ss"); // from capital ẞ, which upper-cases to itself
  return k;
}

/**
 * nameSkeletons are the forms in which names look alike: two names are confusable when they
 * share one. UTS #39's skeleton minds case and names do not, so there are two: the skeleton
 * of the case-folded name (`АӀІСЕ` meets `alice`) and the skeleton of the folded skeleton
 * (`Ian` meets `lan`: a capital I looks like a small L). Usually both are the same string.
 */
export function nameSkeletons(name: string): string[] {
  const nfkc = name.normalize("NFKC");
  const folded = skeleton(foldCase(nfkc));
  const shown = skeleton(foldCase(skeleton(nfkc)));
  return folded === shown ? [folded] : [folded, shown];
}

/** namesLookAlike tells whether two names are confusable (UTS #39, without regard to case). */
export function namesLookAlike(a: string, b: string): boolean {
  const theirs = nameSkeletons(b);
  return nameSkeletons(a).some((form) => theirs.includes(form));
}

/** isAllowed: every code point has Identifier_Status=Allowed (no default-ignorables, fillers, variation selectors). */
function isAllowed(name: string): boolean {
  for (const ch of name) if (!isAllowedInIdentifier(ch.codePointAt(0)!)) return false;
  return true;
}

/**
 * STRAY_ACCENT is a generic accent (the Combining Diacritical Marks block) that NFC did not
 * join to its letter. Every everyday accented letter of Latin, Greek and Cyrillic composes,
 * so one left over is stacked or hidden, as the dot on a dotless ı is (`alı̇ce` for `alice`).
 * Script-specific marks (Devanagari vowel signs, Arabic harakat) are not in this block.
 */
const STRAY_ACCENT = /[\u0300-\u036f]/u;
const NONSPACING_MARK = /^[\p{Mn}\p{Me}]$/u;
/** UTS #39 5.4: more nonspacing marks in a row than this is refused, as is one mark twice in a row. */
const MAX_MARKS_IN_A_ROW = 4;

function hasStrayMarks(name: string): boolean {
  if (STRAY_ACCENT.test(name)) return true;
  let run = 0;
  let previous = "";
  for (const ch of name.normalize("NFD")) {
    if (!NONSPACING_MARK.test(ch)) run = 0;
    else if (++run > MAX_MARKS_IN_A_ROW || ch === previous) return true;
    previous = ch;
  }
  return false;
}

/**
 * checkName checks a name as typed. A control character makes it invalid (it is not
 * stripped into a valid name); otherwise the NFKC form must be 1-32 code points of
 * letters (with their combining marks), digits, _, - and ., every one Allowed by UTS #39,
 * with no stray or stacked marks, and with letters from one script. On success, name is
 * the NFKC display form, key the uniqueness key and skeletons its look-alike forms.
 */
export function checkName(raw: string): NameCheck {
  if (hasControlChars(raw)) return { ok: false, reason: `control characters are not allowed: ${NAME_RULE}` };
  const name = raw.normalize("NFKC");
  let count = 0;
  for (const _ of name) count++;
  if (count === 0) return { ok: false, reason: `a name is needed: ${NAME_RULE}` };
  if (count > NAME_MAX_CHARS) return { ok: false, reason: `that name is too long: ${NAME_RULE}` };
  if (!NAME_CHARS.test(name))
    return { ok: false, reason: `that name has characters that are not allowed: ${NAME_RULE}` };
  if (!isAllowed(name))
    return { ok: false, reason: `that name has invisible or rarely used characters: ${NAME_RULE}` };
  if (hasStrayMarks(name))
    return { ok: false, reason: `that name has stray or stacked accents: ${NAME_RULE}` };
  if (!oneScript(name)) return { ok: false, reason: `that name mixes scripts: ${NAME_RULE}` };
  return { ok: true, name, key: nameKey(name), skeletons: nameSkeletons(name) };
}

/** SERVER_NAMES are reserved whatever the operator lists: a user called server could pass for the server. */
export const SERVER_NAMES: readonly string[] = ["server"];

/** Why a valid name cannot be registered. */
export type NameConflict = "reserved" | "look-alike";

/**
 * ReservedNames are the names nobody may register: SERVER_NAMES and the operator's
 * (--reserved-names), matched by key and by skeleton, so `SERVER` and `ѕеrvеr` are
 * reserved too.
 */
export class ReservedNames {
  readonly #keys = new Set<string>();
  readonly #skeletons = new Set<string>();

  constructor(operatorNames: readonly string[] = []) {
    for (const name of [...SERVER_NAMES, ...operatorNames]) {
      this.#keys.add(nameKey(name));
      for (const form of nameSkeletons(name)) this.#skeletons.add(form);
    }
  }

  has(key: string, skeletons: readonly string[]): boolean {
    return this.#keys.has(key) || skeletons.some((form) => this.#skeletons.has(form));
  }
}

/** nameConflictReason is what a person whose name cannot be registered is told. */
export function nameConflictReason(name: string, conflict: NameConflict): string {
  return conflict === "reserved"
    ? `the name ${name} is reserved; pick another`
    : `the name ${name} looks too much like an existing name; pick another`;
}

/** Maps UTF-16 code units so that comparing them orders strings by code point (surrogates above U+FFFF's BMP neighbours). */
function codePointOrder(c: number): number {
  return c >= 0xd800 ? (c <= 0xdfff ? c + 0x2000 : c - 0x800) : c;
}

/** compareCodePoints orders two strings by code point (JavaScript's < orders by UTF-16 code unit). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

/** compareNames orders names as /who lists them: by case-folded key in code point order, ties by the name itself. */
export function compareNames(a: string, b: string): number {
  return compareCodePoints(nameKey(a), nameKey(b)) || compareCodePoints(a, b);
}

/** sortNames returns a sorted copy in compareNames order, computing each key once. */
export function sortNames(names: readonly string[]): string[] {
  const keyed = names.map((name) => ({ name, key: nameKey(name) }));
  keyed.sort((a, b) => compareCodePoints(a.key, b.key) || compareCodePoints(a.name, b.name));
  return keyed.map((k) => k.name);
}
