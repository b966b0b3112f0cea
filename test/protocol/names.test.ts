import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import {
  checkName,
  compareCodePoints,
  compareNames,
  NAME_RULE,
  nameConflictReason,
  nameKey,
  nameSkeletons,
  namesLookAlike,
  ReservedNames,
  SERVER_NAMES,
  sortNames,
} from "../../protocol/names.ts";
import { isAllowedInIdentifier, skeleton } from "../../protocol/uts39.ts";
import { CONFUSABLES_SOURCE, IDENTIFIER_STATUS_SOURCE } from "../../protocol/uts39-data.ts";
import { check } from "./helpers.ts";

function ok(raw: string): { name: string; key: string; skeletons: string[] } {
  const r = checkName(raw);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(raw)} to be valid: ${r.reason}`);
  return r;
}

function refused(raw: string): string {
  const r = checkName(raw);
  if (r.ok) throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
  return r.reason;
}

test("names - plain Latin names with digits, _ - and . are valid", (t) => {
  t.is(ok("alice").name, "alice");
  t.is(ok("Bob_42").name, "Bob_42");
  t.is(ok("j.doe-2").name, "j.doe-2");
  t.is(ok("7").name, "7");
  t.is(ok("_").name, "_");
});

test("names - Cyrillic, Greek, Japanese, Korean, Hindi and Arabic names are valid", (t) => {
  t.is(ok("Алиса").name, "Алиса");
  t.is(ok("Ωμέγα").name, "Ωμέγα");
  t.is(ok("山田たろう").name, "山田たろう");
  t.is(ok("ラーメン").name, "ラーメン", "prolonged sound mark is Japanese");
  t.is(ok("김철수").name, "김철수");
  t.is(ok("नमस्ते").name, "नमस्ते", "combining vowel signs and virama after letters");
  t.is(ok("علي").name, "علي");
  t.is(ok("Zoë").name, "Zoë");
  t.is(ok("Zoe\u0308").name, "Zoë", "NFKC composes the combining diaeresis");
});

test("names - letters from two scripts are refused", (t) => {
  t.regex(refused("Аlice"), /script/, "Cyrillic А in a Latin name");
  t.regex(refused("alicе"), /script/, "Cyrillic е at the end");
  t.regex(refused("Алисa"), /script/, "Latin a in a Cyrillic name");
  t.regex(refused("abcΩ"), /script/);
  t.regex(refused("김たろう"), /script/);
});

test("names - digits and _ - . do not count as a script", (t) => {
  t.is(ok("Алиса_2000").name, "Алиса_2000");
  t.is(ok("たろう.99").name, "たろう.99");
});

test("names - NFKC: full-width letters become ASCII", (t) => {
  const r = ok("Ａｌｉｃｅ");
  t.is(r.name, "Alice");
  t.is(r.key, "alice");
  t.is(ok("ﬁnn").name, "finn");
});

test("names - keys ignore case", (t) => {
  t.is(ok("ALICE").key, ok("alice").key);
  t.is(ok("АЛИСА").key, ok("алиса").key);
  t.is(ok("Straße").key, ok("STRASSE").key);
  t.is(ok("ΟΔΥΣΣΕΥΣ").key, ok("οδυσσευς").key, "final sigma folds like sigma");
  t.is(ok("Alice").name, "Alice", "display form keeps its case");
});

test("names - length is 1 to 32 characters after NFKC, counted in code points", (t) => {
  t.is(ok("a".repeat(32)).name.length, 32);
  t.regex(refused("a".repeat(33)), /too long/);
  t.is(ok("ж".repeat(32)).name, "ж".repeat(32), "32 two-byte characters");
  t.is(ok("𠀀".repeat(32)).name, "𠀀".repeat(32), "32 astral Han characters");
  t.regex(refused(""), /needed/);
});

test("names - spaces, punctuation and symbols are refused", (t) => {
  for (const raw of ["ali ce", "alice!", "al@ce", "a/b", "😀", "alice ", "<alice>", "*bob*", "a,b"]) {
    t.true(refused(raw).includes(NAME_RULE), raw);
  }
});

test("names - control characters make a name invalid, not stripped", (t) => {
  t.regex(refused("ali\x1b[31mce"), /control/);
  t.regex(refused("alice\u202E"), /control/);
  t.regex(refused("ali\x7fce"), /control/);
  t.regex(refused("alice\t"), /not allowed/);
});

test("names - combining marks need a letter before them", (t) => {
  refused("\u0301a");
  refused("1\u0301");
  t.is(ok("e\u0302\u0301").name, "ế", "stacked accents that compose to one letter (Vietnamese)");
  t.is(ok("Nguyễn").name, "Nguyễn");
});

test("names - invisible characters are refused: default-ignorables, variation selectors, fillers", (t) => {
  for (const raw of [
    "ali\u034Fce",
    "alice\uFE0F",
    "alice\u{E0100}",
    "\u3164",
    "\u115F",
    "a\u3164b",
    "\u1160",
  ]) {
    t.regex(refused(raw), /invisible or rarely used/, JSON.stringify(raw));
  }
  t.false(isAllowedInIdentifier(0x034f), "U+034F COMBINING GRAPHEME JOINER");
  t.false(isAllowedInIdentifier(0xfe0f), "U+FE0F VARIATION SELECTOR-16");
  t.false(isAllowedInIdentifier(0xe0100), "U+E0100 VARIATION SELECTOR-17");
  t.false(isAllowedInIdentifier(0x3164), "U+3164 HANGUL FILLER");
  t.false(isAllowedInIdentifier(0x115f), "U+115F HANGUL CHOSEONG FILLER");
  t.true(isAllowedInIdentifier(0x61) && isAllowedInIdentifier(0x436) && isAllowedInIdentifier(0x5c71));
});

test("names - stray and stacked marks are refused: a dot on a dotless i, a letter under 31 marks", (t) => {
  t.regex(refused("al\u0131\u0307ce"), /stray or stacked/, "ı + combining dot above passes for i");
  t.regex(refused("ali\u0307ce"), /stray or stacked/, "i + a hidden second dot");
  t.regex(refused(`a${"\u0300".repeat(31)}`), /stray or stacked/);
  t.regex(refused(`a${"\u0301\u0300\u0302\u0303".repeat(7)}\u0304\u0306\u0307`), /stray or stacked/);
  t.regex(refused("a\u0301\u0302"), /stray or stacked/, "an accent NFC cannot join to its letter");
  t.regex(refused(`क${"\u094D".repeat(2)}`), /stray or stacked/, "one mark twice in a row (UTS #39 5.4)");
  t.regex(refused(`ع${"\u064E\u0650".repeat(3)}`), /stray or stacked/, "more than 4 marks in a row");
  t.is(ok("नमस्ते").name, "नमस्ते", "script-specific marks on their letters are fine");
  t.is(ok("عَلِي").name, "عَلِي", "Arabic vowel marks are fine");
});

test("names - all-Cyrillic look-alikes are valid names that look like the Latin name", (t) => {
  const fake = ok("аӏісе");
  t.not(fake.key, ok("alice").key, "a distinct key: only the skeleton catches it");
  t.true(namesLookAlike("аӏісе", "alice"));
  t.true(namesLookAlike("раураӏ", "paypal"));
  t.true(namesLookAlike("ѕеѕ", "ses"), "Cyrillic dze and ie");
  t.true(namesLookAlike("a1ice", "alice"), "digit one for small L (UTS #39)");
  t.true(namesLookAlike("𝔭𝒶ỿ𝕡𝕒ℓ", "paypal"), "before NFKC too");
});

test("names - look-alikes are found without regard to case, and capital I passes for small L", (t) => {
  t.true(namesLookAlike("АӀІСЕ", "alice"), "upper-case Cyrillic");
  t.true(namesLookAlike("ALICE", "alice"));
  t.true(namesLookAlike("Ian", "lan"));
  t.true(namesLookAlike("lan", "Ian"), "either way round");
  t.true(namesLookAlike("АЛИСА", "алиса"));
  t.false(namesLookAlike("ian", "lan"), "small i has its dot");
});

test("names - legit names in other scripts do not look like Latin ones", (t) => {
  t.false(namesLookAlike("маша", "masha"));
  t.false(namesLookAlike("Алиса", "alice"));
  t.false(namesLookAlike("bob", "dob"));
  t.false(namesLookAlike("山田", "田山"));
  t.false(namesLookAlike("Ωμέγα", "omega"));
});

test("names - checkName gives the display form's skeletons", (t) => {
  for (const raw of ["alice", "Ａｌｉｃｅ", "Straße", "раураӏ", "김철수", "Ian"]) {
    const r = ok(raw);
    t.deepEqual(r.skeletons, nameSkeletons(r.name), raw);
  }
  t.is(ok("alice").skeletons.length, 1, "one form when case makes no difference");
  t.is(ok("Ian").skeletons.length, 2);
});

test("names - UTS #39 skeleton: NFD, default-ignorables dropped, prototypes, NFD", (t) => {
  t.is(skeleton("𝔭𝒶ỿ𝕡𝕒ℓ"), "paypal");
  t.is(skeleton("ali\u200Bce"), "alice", "a zero width space is default-ignorable");
  t.is(skeleton("rn"), skeleton("m"));
  t.is(skeleton(skeleton("раураӏ")), skeleton("раураӏ"), "idempotent");
  t.regex(CONFUSABLES_SOURCE, /^Unicode \d+\.\d+ confusables \(ICU [\d.]+\)$/);
  t.regex(IDENTIFIER_STATUS_SOURCE, /^Unicode [\d.]+ Identifier_Status/);
});

test("names - server is always reserved; operator names too, by key and by skeleton", (t) => {
  t.deepEqual(SERVER_NAMES, ["server"]);
  const reserved = new ReservedNames(["admin", "Модератор", "paypal"]);
  const is = (name: string) => reserved.has(nameKey(name), nameSkeletons(name));
  t.true(is("server"));
  t.true(is("SERVER"), "by key");
  t.true(is("ѕеrvеr"), "by skeleton, Cyrillic ѕ and е");
  t.true(is("admin"));
  t.true(is("ADMIN"));
  t.true(is("модератор"), "by key, Cyrillic");
  t.true(is("раураӏ"), "by skeleton, a valid all-Cyrillic name");
  t.false(is("alice"));
  t.false(is("servers"));
  t.true(new ReservedNames().has(ok("server").key, ok("server").skeletons), "with no operator list");
});

test("names - conflict reasons name the name and say what to do", (t) => {
  t.is(
    nameConflictReason("аӏісе", "look-alike"),
    "the name аӏісе looks too much like an existing name; pick another",
  );
  t.is(nameConflictReason("server", "reserved"), "the name server is reserved; pick another");
});

test("names - refusal reasons state the rule", (t) => {
  for (const raw of ["", "a".repeat(40), "a b", "Аlice", "x\x00"]) t.true(refused(raw).endsWith(NAME_RULE));
  t.is(NAME_RULE, "names are 1-32 letters, digits, _ - or ., with letters from one script only");
});

test("names - compareNames sorts by case-folded key in code point order", (t) => {
  t.deepEqual(sortNames(["bob", "Carol", "alice", "Dave"]), ["alice", "bob", "Carol", "Dave"]);
  t.deepEqual(["bob", "Alice", "алиса", "Zed"].sort(compareNames), ["Alice", "bob", "Zed", "алиса"]);
  t.true(compareNames("ALICE", "alice") !== 0, "ties are broken by the name so the order is total");
  t.true(compareNames("alice", "ALICE") > 0);
});

test("names - compareCodePoints orders astral characters after the BMP", (t) => {
  t.true("\u{10000}" < "\uFFFF", "JavaScript's own order is by code unit");
  t.true(compareCodePoints("\u{10000}", "\uFFFF") > 0);
  t.true(compareCodePoints("a", "ab") < 0);
  t.is(compareCodePoints("same", "same"), 0);
});

test("names - property: compareCodePoints agrees with comparing code point arrays", (t) => {
  check(
    t,
    fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) => {
      const ca = [...a].map((c) => c.codePointAt(0)!);
      const cb = [...b].map((c) => c.codePointAt(0)!);
      let expected = 0;
      for (let i = 0; i < Math.min(ca.length, cb.length) && expected === 0; i++) expected = ca[i]! - cb[i]!;
      if (expected === 0) expected = ca.length - cb.length;
      assert.equal(Math.sign(compareCodePoints(a, b)), Math.sign(expected));
    }),
  );
});

test("names - property: a valid name's display form and key are stable, and case never changes the key", (t) => {
  const letters = fc.string({
    unit: fc.constantFrom(..."aAzZßẞİıÿŸжЖёЁσΣςΩωéÉ_.-09Ａｚ".split(""), "e\u0301"),
    minLength: 1,
    maxLength: 32,
  });
  check(
    t,
    fc.property(letters, (raw) => {
      const r = checkName(raw);
      if (!r.ok) return;
      const again = checkName(r.name);
      assert.ok(again.ok);
      assert.equal(again.name, r.name);
      assert.equal(again.key, r.key);
      assert.equal(nameKey(r.name.toUpperCase()), r.key);
      assert.equal(nameKey(r.name.toLowerCase()), r.key);
    }),
  );
});
