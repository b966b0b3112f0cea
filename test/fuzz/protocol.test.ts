/**
 * Property-based fuzzing of the protocol code with random bytes and random chunk
 * boundaries (properties in ./properties.ts). FUZZ_RUNS sets the cases per property
 * (default 2000); scripts/fuzz-long.ts runs the same properties for much longer.
 *
 * Each property first replays its fixed regression examples, then random cases. A failure
 * prints fast-check's report with the seed and path to replay it; add the counterexample to
 * the property's examples in properties.ts once fixed.
 */

import test from "ava";
import fc from "fast-check";
import { LineFramer } from "../../protocol/line-framer.ts";
import { checkName } from "../../protocol/names.ts";
import { NdjsonReader } from "../../protocol/ndjson.ts";
import { TelnetFilter } from "../../protocol/telnet.ts";
import { sanitize } from "../../protocol/text.ts";
import { firstForbidden, PROPERTIES, runsFromEnv, stats } from "./properties.ts";

const RUNS = runsFromEnv(2000);

for (const p of PROPERTIES) {
  test.serial(`fuzz - ${p.name}`, (t) => {
    const started = performance.now();
    const result = fc.check(p.property, { numRuns: RUNS, examples: p.examples });
    const ms = performance.now() - started;
    t.log(`BOUND fuzz: ${p.area} cases run (${p.name.split(":")[0]}) = ${result.numRuns}`);
    t.log(`BOUND fuzz: ${p.area} time for ${result.numRuns} cases (ms) = ${ms.toFixed(0)}`);
    t.false(result.failed, result.failed ? fc.defaultReportMessage(result) : "");
    t.is(result.numRuns, RUNS, "every case ran");
  });
}

// The measured worst cases, reported once every property has run (serial tests run in order).
test.serial("fuzz - the worst values seen stay inside their limits", (t) => {
  for (const [what, value] of Object.entries(stats))
    t.log(`BOUND fuzz: ${what} = ${Number(value.toFixed(3))}`);
  t.true(stats.framerMaxPendingRatio <= 1, "framer buffered more than maxLine");
  t.true(stats.framerMaxLineRatio <= 1, "framer emitted a line over maxLine");
  t.true(stats.ndjsonMaxPendingRatio <= 1, "ndjson buffered more than its cap");
  t.true(stats.ndjsonMaxLineRatio <= 1, "ndjson emitted a line over its cap");
  t.true(stats.telnetMaxOutRatio <= 1);
  t.true(stats.utf8MaxUnitsPerByte <= 1);
  t.true(stats.sanitizeMaxOutRatio <= 1);
  t.true(stats.namesMaxAcceptedCodePoints <= 32);
});

// Regression tests written out, so they read as cases and not only as fuzz examples.

test("fuzz regression - a lone CR at the very end of a chunk, then NUL, is one line end", (t) => {
  const f = new LineFramer(8, { emitEmpty: true });
  const lines: string[] = [];
  for (const c of ["ab\r", "\0", "cd\r", "\r", "\n"]) {
    f.push(
      Buffer.from(c, "latin1"),
      (l) => lines.push(Buffer.from(l).toString("latin1")),
      () => lines.push("!"),
    );
  }
  t.deepEqual(lines, ["ab", "cd", ""]);
});

test("fuzz regression - a 100 KB line without a line end buffers at most maxLine bytes and is reported once", (t) => {
  const f = new LineFramer(4096);
  let tooLong = 0;
  let lines = 0;
  for (let i = 0; i < 100; i++) {
    f.push(
      new Uint8Array(1000).fill(0x61),
      () => lines++,
      () => tooLong++,
    );
    t.true(f.pendingBytes <= 4096);
  }
  f.push(
    Buffer.from("\nok\n"),
    () => lines++,
    () => tooLong++,
  );
  t.is(tooLong, 1);
  t.is(lines, 1);
});

test("fuzz regression - an over-long subnegotiation turns back into data at byte MAX_SB_BYTES + 1", (t) => {
  const body = new Uint8Array(4096 + 3).fill(0x41);
  const input = Buffer.concat([Buffer.from([255, 250, 24]), body, Buffer.from("\n")]);
  const whole = Buffer.from(new TelnetFilter().push(input));
  const f = new TelnetFilter();
  const parts = [input.subarray(0, 1000), input.subarray(1000, 4098), input.subarray(4098)];
  const chunked = Buffer.concat(parts.map((p) => Buffer.from(f.push(p))));
  t.deepEqual(chunked, whole);
  // The option byte counts as content: 1 + 4099 bytes, so the last 4 are data again.
  t.is(whole.toString("latin1"), "AAAA\n");
});

test("fuzz regression - sanitize removes escapes, C1 and bidi from a hostile line", (t) => {
  const out = sanitize("hi\x1b[2J\x1b]0;pwned\x07 there\u202e\x9b31m\u2066!\x85");
  t.is(out, "hi there!");
  t.is(firstForbidden(out), -1);
});

test("fuzz regression - checkName refuses controls, zero-width and 33 characters", (t) => {
  for (const raw of ["a\x1b[31mb", "ab\u200b", "ev\u202eil", "a".repeat(33), "\x85bob", "bob\t"])
    t.false(checkName(raw).ok, JSON.stringify(raw));
  t.true(checkName("a".repeat(32)).ok);
});

test("fuzz regression - NdjsonReader refuses a line one byte over its cap, split anywhere", (t) => {
  for (let cut = 0; cut <= 6; cut++) {
    const data = Buffer.from("abcde\n");
    const r = new NdjsonReader(4);
    const lines: string[] = [];
    const a = r.push(data.subarray(0, cut), (l) => lines.push(l));
    const b = a && r.push(data.subarray(cut), (l) => lines.push(l));
    t.false(b, `cut at ${cut}`);
    t.deepEqual(lines, []);
    t.true(r.pendingBytes <= 4);
  }
});
