import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import {
  checkName,
  compareCodePoints,
  compareNames,
  NAME_RULE,
  nameKey,
  sortNames,
} from "../../protocol/names.ts";
import { check } from "./helpers.ts";

function ok(raw: string): { name: string; key: string } {
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
  t.is(ok("a\u0301\u0302").name.normalize("NFC"), "a\u0301\u0302".normalize("NFC"));
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
