import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { decodeUtf8, encodeUtf8, hasControlChars, sanitize } from "../../protocol/text.ts";
import { bytes, check } from "./helpers.ts";

const FORBIDDEN = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/;

test("text - decodeUtf8 decodes valid UTF-8", (t) => {
  t.is(decodeUtf8(bytes("привет всем 😀")), "привет всем 😀");
});

test("text - decodeUtf8 turns invalid sequences into U+FFFD", (t) => {
  t.is(decodeUtf8(bytes("a", 0xff, "b")), "a\uFFFDb");
  t.is(decodeUtf8(bytes(0xc0, 0x80)), "\uFFFD\uFFFD"); // overlong NUL
  t.is(decodeUtf8(bytes(0xed, 0xa0, 0x80)), "\uFFFD\uFFFD\uFFFD"); // surrogate
  t.is(decodeUtf8(bytes("x", 0xe2, 0x82)), "x\uFFFD"); // truncated
});

test("text - decodeUtf8 does not carry state between calls", (t) => {
  t.is(decodeUtf8(bytes(0xd0)), "\uFFFD");
  t.is(decodeUtf8(bytes(0xbf)), "\uFFFD");
});

test("text - encodeUtf8 round-trips", (t) => {
  t.deepEqual([...encodeUtf8("ж€")], [0xd0, 0xb6, 0xe2, 0x82, 0xac]);
});

test("text - sanitize returns clean text unchanged (same string)", (t) => {
  const s = "hello\tworld — привет, 中文, emoji 😀";
  t.is(sanitize(s), s);
});

test("text - sanitize removes C0 (not TAB), DEL and C1", (t) => {
  t.is(sanitize("a\x00b\x07c\x08d\te\x7ff\x85g\x9fh\r\ni"), "abcd\tefghi");
});

test("text - sanitize removes bidi overrides and isolates", (t) => {
  t.is(sanitize("user\u202Egnp.exe"), "usergnp.exe");
  t.is(sanitize("\u202Aa\u202Bb\u202Cc\u202Dd\u2066e\u2067f\u2068g\u2069"), "abcdefg");
});

test("text - sanitize removes the line and paragraph separators U+2028 and U+2029", (t) => {
  t.is(sanitize("a\u2028b\u2029c"), "abc");
  t.true(hasControlChars("ali\u2028ce"), "and a name holding one is refused");
});

test("text - sanitize takes CSI sequences with the ESC", (t) => {
  t.is(sanitize("\x1b[2Jclear"), "clear");
  t.is(sanitize("a\x1b[1;31mred\x1b[0m b"), "ared b");
  t.is(sanitize("x\x1b[?25ly"), "xy");
  t.is(sanitize("8-bit \x9b2Jcsi"), "8-bit csi");
});

test("text - sanitize takes OSC sequences up to BEL or ESC backslash", (t) => {
  t.is(sanitize("a\x1b]0;evil title\x07b"), "ab");
  t.is(sanitize("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b"), "alinkb");
  t.is(sanitize("unterminated\x1b]0;title"), "unterminated");
});

test("text - sanitize drops other two-character escapes", (t) => {
  t.is(sanitize("a\x1bcb"), "ab"); // RIS
  t.is(sanitize("a\x1b7b\x1b8c"), "abc");
  t.is(sanitize("a\x1b(Bb"), "ab"); // charset designation, with its intermediate
  t.is(sanitize("end\x1b"), "end");
  t.is(sanitize("\x1bпривет"), "привет", "a non-ASCII character is not part of an escape");
});

test("text - a broken CSI keeps the text after it", (t) => {
  t.is(sanitize("a\x1b[12\nb"), "ab");
  t.is(sanitize("a\x1b[12привет"), "aпривет");
});

test("text - hasControlChars finds the same characters", (t) => {
  t.false(hasControlChars("alice\tok"));
  t.true(hasControlChars("ali\x1bce"));
  t.true(hasControlChars("ali\u202Ece"));
  t.true(hasControlChars("ali\x85ce"));
  t.true(hasControlChars("\x7f"));
});

const nasty = fc.string({
  unit: fc.oneof(
    fc.constantFrom(
      "\x1b",
      "[",
      "]",
      "\x07",
      "\\",
      "\x9b",
      "\x9d",
      "\x9c",
      "\u202e",
      "\u2066",
      "\x00",
      "\x7f",
      "\t",
      ";",
      "2",
      "J",
      "m",
    ),
    fc.string({ unit: "grapheme", maxLength: 1 }),
    fc.integer({ min: 0, max: 0x2100 }).map((c) => String.fromCharCode(c)),
  ),
});

test("text - property: sanitize output never holds a forbidden character", (t) => {
  check(
    t,
    fc.property(nasty, (s) => {
      assert.ok(!FORBIDDEN.test(sanitize(s)));
      assert.equal(hasControlChars(sanitize(s)), false);
    }),
    { numRuns: 2000 },
  );
});

test("text - property: sanitize is idempotent", (t) => {
  check(
    t,
    fc.property(nasty, (s) => {
      const once = sanitize(s);
      assert.equal(sanitize(once), once);
    }),
    { numRuns: 2000 },
  );
});

test("text - property: plain text is unchanged", (t) => {
  const plain = fc.string({ unit: "grapheme" }).filter((s) => !FORBIDDEN.test(s));
  check(
    t,
    fc.property(plain, (s) => {
      assert.equal(sanitize(s), s);
      assert.equal(hasControlChars(s), false);
    }),
  );
});

test("text - property: sanitize only removes characters, it never adds or reorders", (t) => {
  check(
    t,
    fc.property(nasty, (s) => {
      const out = sanitize(s);
      let i = 0;
      for (const ch of out) {
        i = s.indexOf(ch, i);
        assert.ok(i >= 0);
        i += ch.length;
      }
    }),
  );
});
