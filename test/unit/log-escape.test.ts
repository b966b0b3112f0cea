import test from "ava";
import fc from "fast-check";
import { escapeControls } from "../../protocol/log-escape.ts";

test("log escape - control characters become visible escapes; other text is unchanged", (t) => {
  t.is(escapeControls("\x1b]0;pwned\x07\x1b[2Jhi"), "\\u001b]0;pwned\\u0007\\u001b[2Jhi");
  t.is(
    escapeControls("a\r\nb\tc\x7f\u0085\u2028\u202e\u2066"),
    "a\\r\\nb\\tc\\u007f\\u0085\\u2028\\u202e\\u2066",
  );
  t.is(escapeControls("привет <alice> ✓ 😀"), "привет <alice> ✓ 😀");
});

test("log escape - a JSON record stays JSON and decodes to the same value", (t) => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      const line = escapeControls(JSON.stringify({ text }));
      return !/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(line) && JSON.parse(line).text === text;
    }),
  );
  t.pass();
});
