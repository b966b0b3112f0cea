/**
 * User names: what a valid name is, its display form, and the key that makes names
 * unique without regard to case or look-alike compatibility forms.
 */

import { hasControlChars } from "./text.ts";

export const NAME_MAX_CHARS = 32;

/** NAME_RULE is the rule as told to a person whose name was refused. */
export const NAME_RULE = "names are 1-32 letters, digits, _ - or ., with letters from one script only";

export type NameCheck = { ok: true; name: string; key: string } | { ok: false; reason: string };

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
  let k = name.normalize("NFKC").toUpperCase().toLowerCase();
  if (k.includes("ς")) k = k.replaceAll("ς", "σ");
  if (k.includes("ß")) k = k.replaceAll("ß", "ss"); // from capital ẞ, which upper-cases to itself
  return k.normalize("NFKC");
}

/**
 * checkName checks a name as typed. A control character makes it invalid (it is not
 * stripped into a valid name); otherwise the NFKC form must be 1-32 code points of
 * letters (with their combining marks), digits, _, - and ., with letters from one script.
 * On success, name is the NFKC display form and key the uniqueness key.
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
  if (!oneScript(name)) return { ok: false, reason: `that name mixes scripts: ${NAME_RULE}` };
  return { ok: true, name, key: nameKey(name) };
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
