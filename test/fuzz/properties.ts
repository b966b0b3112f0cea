/**
 * Fuzz properties of the byte- and text-level protocol code, shared by the CI fuzz tests
 * (test/fuzz/protocol.test.ts, a few thousand cases each) and the long run
 * (scripts/fuzz-long.ts, hundreds of thousands).
 *
 * Every property feeds random bytes (biased towards the bytes that matter: line ends, IAC,
 * ESC, UTF-8 lead bytes) cut at random chunk boundaries, and checks with node:assert:
 * nothing throws, buffered memory stays within the limit, the output does not depend on
 * where the chunks were cut, and the output obeys the module's contract. Each property also
 * records the worst value it saw (stats) so a test can report the bound it measured.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { LineFramer } from "../../protocol/line-framer.ts";
import { checkName, NAME_MAX_CHARS, nameKey } from "../../protocol/names.ts";
import { NdjsonReader } from "../../protocol/ndjson.ts";
import { MAX_SB_BYTES, TelnetFilter } from "../../protocol/telnet.ts";
import { decodeUtf8, hasControlChars, sanitize } from "../../protocol/text.ts";
import { concat, split } from "../protocol/helpers.ts";

// ---------------------------------------------------------------------------------------
// helpers

/** isForbidden is the spec's list (chat-protocol.md), written independently of protocol/text.ts. */
export function isForbiddenCodePoint(cp: number): boolean {
  return (
    (cp < 0x20 && cp !== 0x09) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069)
  );
}

/** firstForbidden returns the first forbidden code point of text, or -1. */
export function firstForbidden(text: string): number {
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (isForbiddenCodePoint(cp)) return cp;
  }
  return -1;
}

/** Copies each chunk into a fresh buffer, as a socket would hand them over (no shared memory). */
function fresh(chunks: readonly Uint8Array[]): Buffer[] {
  return chunks.map((c) => Buffer.from(c));
}

/** Random bytes, a fair share of them drawn from the special bytes. */
export function biasedBytes(special: readonly number[], maxLength: number): fc.Arbitrary<Uint8Array> {
  return fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
        { weight: 2, arbitrary: fc.constantFrom(...special) },
      ),
      { maxLength },
    )
    .map((a) => Uint8Array.from(a));
}

/** A long run of one byte (to cross the 4 KiB-ish bounds without generating every byte). */
function run(minLength: number, maxLength: number, bytes: readonly number[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.integer({ min: minLength, max: maxLength }), fc.constantFrom(...bytes))
    .map(([n, b]) => new Uint8Array(n).fill(b));
}

const cutsArb = (max: number) => fc.array(fc.nat({ max }), { maxLength: 40 });

// ---------------------------------------------------------------------------------------
// stats: the worst values seen, for the BOUND lines

export const stats = {
  framerMaxPendingRatio: 0,
  framerMaxLineRatio: 0,
  telnetMaxOutRatio: 0,
  telnetMaxReplyBytes: 0,
  utf8MaxUnitsPerByte: 0,
  sanitizeMaxOutRatio: 0,
  namesAccepted: 0,
  namesMaxAcceptedCodePoints: 0,
  ndjsonMaxPendingRatio: 0,
  ndjsonMaxLineRatio: 0,
  pipelineLines: 0,
};

// ---------------------------------------------------------------------------------------
// LineFramer

type FramerEv = string;
const TOO_LONG = "<too long>";

function framerRun(
  chunks: readonly Uint8Array[],
  maxLine: number,
  emitEmpty: boolean,
): { events: FramerEv[]; maxPending: number } {
  const framer = new LineFramer(maxLine, { emitEmpty });
  const events: FramerEv[] = [];
  let maxPending = 0;
  for (const chunk of chunks) {
    framer.push(
      chunk,
      (line) => {
        assert.ok(line.length <= maxLine, `line of ${line.length} bytes over maxLine ${maxLine}`);
        assert.ok(!line.includes(10) && !line.includes(13), "a line holds a line end");
        stats.framerMaxLineRatio = Math.max(stats.framerMaxLineRatio, line.length / maxLine);
        events.push(Buffer.from(line).toString("latin1"));
      },
      () => events.push(TOO_LONG),
    );
    assert.ok(framer.pendingBytes <= maxLine, `pendingBytes ${framer.pendingBytes} > maxLine ${maxLine}`);
    maxPending = Math.max(maxPending, framer.pendingBytes);
  }
  return { events, maxPending };
}

/** The framer's contract as a naive whole-input model (chat-protocol.md, "Bytes and lines"). */
export function framerModel(data: Uint8Array, maxLine: number, emitEmpty: boolean): FramerEv[] {
  const events: FramerEv[] = [];
  let start = 0;
  let i = 0;
  const end = (from: number, to: number) => {
    const len = to - from;
    if (len > maxLine) events.push(TOO_LONG);
    else if (len > 0 || emitEmpty) events.push(Buffer.from(data.subarray(from, to)).toString("latin1"));
  };
  while (i < data.length) {
    const b = data[i]!;
    if (b === 10) {
      end(start, i);
      i++;
      start = i;
    } else if (b === 13) {
      end(start, i);
      i++;
      if (i < data.length && (data[i] === 10 || data[i] === 0)) i++;
      start = i;
    } else {
      i++;
    }
  }
  // A partial line is reported as soon as it is known to be too long.
  if (data.length - start > maxLine) events.push(TOO_LONG);
  return events;
}

const framerBytes = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: biasedBytes([10, 13, 0, 0x61, 0xd0, 0xff], 80) },
      { weight: 1, arbitrary: run(1, 300, [0x61, 13, 10]) },
    ),
    { maxLength: 6 },
  )
  .map(concat);

export const framerProperty = fc.property(
  framerBytes,
  cutsArb(600),
  fc.integer({ min: 1, max: 64 }),
  fc.boolean(),
  (data, cuts, maxLine, emitEmpty) => {
    const whole = framerRun([data], maxLine, emitEmpty);
    const chunked = framerRun(fresh(split(data, cuts)), maxLine, emitEmpty);
    const bytewise = framerRun(split(data, [...data.keys()]), maxLine, emitEmpty);
    assert.deepEqual(chunked.events, whole.events, "chunked differs from whole");
    assert.deepEqual(bytewise.events, whole.events, "byte by byte differs from whole");
    assert.deepEqual(whole.events, framerModel(data, maxLine, emitEmpty), "differs from the model");
    stats.framerMaxPendingRatio = Math.max(
      stats.framerMaxPendingRatio,
      Math.max(whole.maxPending, chunked.maxPending, bytewise.maxPending) / maxLine,
    );
  },
);

// ---------------------------------------------------------------------------------------
// TelnetFilter

const IAC = 255;
const SB = 250;
const SE = 240;

/** Input rich in telnet commands, including subnegotiations around and past MAX_SB_BYTES. */
const telnetBytes = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: biasedBytes([IAC, SB, SE, 251, 252, 253, 254, 1, 3, 24], 40) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.integer({ min: 0, max: 255 }),
            run(MAX_SB_BYTES - 8, MAX_SB_BYTES + 8, [0x41, 0x00]),
            fc.boolean(),
          )
          .map(([opt, body, ended]) =>
            concat([Uint8Array.of(IAC, SB, opt), body, ended ? Uint8Array.of(IAC, SE) : new Uint8Array(0)]),
          ),
      },
    ),
    { maxLength: 6 },
  )
  .map(concat);

function telnetRun(chunks: readonly Uint8Array[]): { data: Uint8Array; replies: Uint8Array } {
  const filter = new TelnetFilter();
  const data: Uint8Array[] = [];
  const replies: Uint8Array[] = [];
  for (const chunk of chunks) {
    const before = Buffer.from(chunk);
    const out = filter.push(chunk);
    assert.ok(out.length <= chunk.length, "the filter made data out of nothing");
    assert.ok(Buffer.from(chunk).equals(before), "the filter changed its input");
    data.push(Uint8Array.from(out));
    const r = filter.takeReplies();
    if (r) replies.push(r);
  }
  return { data: concat(data), replies: concat(replies) };
}

export const telnetProperty = fc.property(telnetBytes, cutsArb(9000), (input, cuts) => {
  const whole = telnetRun([input]);
  const chunked = telnetRun(fresh(split(input, cuts)));
  assert.deepEqual(Buffer.from(chunked.data), Buffer.from(whole.data), "chunked data differs from whole");
  assert.deepEqual(Buffer.from(chunked.replies), Buffer.from(whole.replies), "chunked replies differ");
  // Replies are refusals (IAC WONT x / IAC DONT x), each option at most once per direction, or
  // the acknowledgements of SGA (IAC WILL 3 / IAC WONT 3), which alternate: one per change asked.
  const r = whole.replies;
  assert.equal(r.length % 3, 0);
  const seen = new Set<string>();
  let sga = false;
  for (let i = 0; i < r.length; i += 3) {
    assert.equal(r[i], IAC);
    if (r[i + 2] === 3 && (r[i + 1] === 251 || r[i + 1] === 252)) {
      assert.equal(r[i + 1] === 251, !sga, "SGA acknowledged without a change");
      sga = !sga;
      continue;
    }
    assert.ok(r[i + 1] === 252 || r[i + 1] === 254, `reply verb ${r[i + 1]}`);
    const id = `${r[i + 1]}:${r[i + 2]}`;
    assert.ok(!seen.has(id), `option refused twice: ${id}`);
    seen.add(id);
  }
  stats.telnetMaxReplyBytes = Math.max(stats.telnetMaxReplyBytes, r.length);
  if (input.length > 0)
    stats.telnetMaxOutRatio = Math.max(stats.telnetMaxOutRatio, whole.data.length / input.length);
});

// ---------------------------------------------------------------------------------------
// decodeUtf8

const utf8Bytes = biasedBytes(
  [0xc2, 0x80, 0x9b, 0xd0, 0xe2, 0x80, 0xae, 0xf0, 0x9f, 0xed, 0xa0, 0xff, 0x1b],
  200,
);

export const utf8Property = fc.property(utf8Bytes, (bytes) => {
  const text = decodeUtf8(bytes);
  assert.ok(text.isWellFormed(), "decoded text has a lone surrogate");
  assert.ok(text.length <= bytes.length, "more UTF-16 units than bytes");
  // Valid UTF-8 round-trips; invalid input decodes to the same as a fresh fatal:false decoder.
  assert.equal(text, new TextDecoder("utf-8", { fatal: false }).decode(bytes));
  if (!text.includes("\uFFFD")) assert.deepEqual(Buffer.from(text, "utf8"), Buffer.from(bytes));
  if (bytes.length > 0)
    stats.utf8MaxUnitsPerByte = Math.max(stats.utf8MaxUnitsPerByte, text.length / bytes.length);
});

/** Text with a multi-byte character cut across reads: the framer joins it, so the decode is whole. */
export const utf8SplitProperty = fc.property(
  fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, "x")),
  cutsArb(200),
  (text, cuts) => {
    const bytes = Buffer.from(`${text}\n`, "utf8");
    const lines: string[] = [];
    const framer = new LineFramer(4096, { emitEmpty: true });
    for (const chunk of fresh(split(bytes, cuts)))
      framer.push(
        chunk,
        (l) => lines.push(decodeUtf8(l)),
        () => {},
      );
    assert.deepEqual(lines, [text]);
  },
);

// ---------------------------------------------------------------------------------------
// sanitize

const hostileUnit = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 1 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "\x1b",
      "[",
      "]",
      "\\",
      "\x07",
      "\x9b",
      "\x9c",
      "\x9d",
      "\u202e",
      "\u2066",
      "\u2069",
      "2J",
      ";",
      "0",
      "a",
      "ж",
      "😀",
      "\t",
      "\x7f",
      "\x85",
      " ",
      "(",
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x3f }).map((c) => String.fromCharCode(c)) },
);
export const hostileText = fc.array(hostileUnit, { maxLength: 60 }).map((a) => a.join(""));

/** isSubsequence says whether every character of sub appears in text, in order. */
function isSubsequence(sub: string, text: string): boolean {
  let j = 0;
  for (let i = 0; i < text.length && j < sub.length; i++) if (text[i] === sub[j]) j++;
  return j === sub.length;
}

export const sanitizeProperty = fc.property(hostileText, (text) => {
  const out = sanitize(text);
  const bad = firstForbidden(out);
  assert.equal(bad, -1, `forbidden U+${bad.toString(16)} survived in ${JSON.stringify(out)}`);
  assert.ok(!hasControlChars(out));
  assert.equal(sanitize(out), out, "sanitize is not idempotent");
  assert.ok(isSubsequence(out, text), "sanitize added or reordered characters");
  if (firstForbidden(text) === -1) assert.equal(out, text, "clean text was changed");
  if (text.isWellFormed()) assert.ok(out.isWellFormed(), "sanitize split a surrogate pair");
  // What reaches a terminal: no ESC, no CSI/OSC 8-bit introducers, no bidi controls.
  assert.ok(!/[\x1b\x9b\x9d\u202a-\u202e\u2066-\u2069]/.test(out));
  if (text.length > 0)
    stats.sanitizeMaxOutRatio = Math.max(stats.sanitizeMaxOutRatio, out.length / text.length);
});

// ---------------------------------------------------------------------------------------
// checkName

const nameUnit = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(..."aZж_.-09éΣ中カ한ąﬁＡ".split("")) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 1 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "\u0301",
      "\u200b",
      "\u200d",
      "\u00ad",
      "\x1b",
      "\x00",
      "\u202e",
      "\x85",
      "\t",
      " ",
    ),
  },
);
const nameText = fc.array(nameUnit, { maxLength: 40 }).map((a) => a.join(""));
const NAME_CHARS = /^(?:\p{L}|\p{M}|\p{Nd}|[_.-])+$/u;

export const namesProperty = fc.property(nameText, (raw) => {
  const r = checkName(raw);
  if (firstForbidden(raw) !== -1)
    assert.equal(r.ok, false, `a name with a control character was accepted: ${JSON.stringify(raw)}`);
  if (!r.ok) {
    assert.equal(typeof r.reason, "string");
    return;
  }
  const count = [...r.name].length;
  assert.ok(count >= 1 && count <= NAME_MAX_CHARS, `accepted name of ${count} code points`);
  assert.equal(firstForbidden(r.name), -1);
  assert.ok(NAME_CHARS.test(r.name), `accepted name with other characters: ${JSON.stringify(r.name)}`);
  assert.equal(r.name, raw.normalize("NFKC"));
  assert.equal(r.key, nameKey(r.name));
  // The display form is itself a valid name with the same key (registering it again collides).
  const again = checkName(r.name);
  assert.ok(again.ok && again.key === r.key, "the accepted display form is not stable");
  stats.namesAccepted++;
  stats.namesMaxAcceptedCodePoints = Math.max(stats.namesMaxAcceptedCodePoints, count);
});

// ---------------------------------------------------------------------------------------
// NdjsonReader

type NdEv = string;
const OVERFLOW = "<overflow>";

function ndjsonRun(chunks: readonly Buffer[], maxBytes: number): { events: NdEv[]; maxPending: number } {
  const reader = new NdjsonReader(maxBytes);
  const events: NdEv[] = [];
  let maxPending = 0;
  let dead = false;
  for (const chunk of chunks) {
    const ok = reader.push(chunk, (line) => {
      assert.ok(!dead, "a line after the reader overflowed");
      assert.ok(line.length <= maxBytes, `line of ${line.length} units over ${maxBytes}`);
      assert.ok(Buffer.byteLength(line.replaceAll("\uFFFD", "?"), "utf8") <= maxBytes * 3);
      stats.ndjsonMaxLineRatio = Math.max(stats.ndjsonMaxLineRatio, line.length / maxBytes);
      events.push(line);
    });
    assert.ok(reader.pendingBytes <= maxBytes, `pendingBytes ${reader.pendingBytes} > ${maxBytes}`);
    maxPending = Math.max(maxPending, reader.pendingBytes);
    if (!ok) {
      if (!dead) events.push(OVERFLOW);
      dead = true;
    } else {
      assert.ok(!dead, "the reader came back after an overflow");
    }
  }
  return { events, maxPending };
}

/** The reader's contract as a naive model: LF-separated, empty and "\r" lines skipped, a line over the cap ends the stream. */
export function ndjsonModel(data: Buffer, maxBytes: number): NdEv[] {
  const events: NdEv[] = [];
  let start = 0;
  for (;;) {
    const nl = data.indexOf(10, start);
    if (nl === -1) break;
    if (nl - start > maxBytes) return [...events, OVERFLOW];
    const line = data.subarray(start, nl).toString("utf8");
    if (line.length > 0 && line !== "\r") events.push(line);
    start = nl + 1;
  }
  if (data.length - start > maxBytes) events.push(OVERFLOW);
  return events;
}

const ndjsonBytes = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: biasedBytes([10, 13, 0x7b, 0x22, 0xd0, 0xbf, 0xff], 60) },
      { weight: 1, arbitrary: run(1, 200, [0x61, 10]) },
    ),
    { maxLength: 6 },
  )
  .map((parts) => Buffer.from(concat(parts)));

export const ndjsonProperty = fc.property(
  ndjsonBytes,
  cutsArb(500),
  fc.integer({ min: 1, max: 64 }),
  (data, cuts, maxBytes) => {
    const whole = ndjsonRun([data], maxBytes);
    const chunked = ndjsonRun(fresh(split(data, cuts)), maxBytes);
    assert.deepEqual(chunked.events, whole.events, "chunked differs from whole");
    assert.deepEqual(whole.events, ndjsonModel(data, maxBytes), "differs from the model");
    stats.ndjsonMaxPendingRatio = Math.max(
      stats.ndjsonMaxPendingRatio,
      Math.max(whole.maxPending, chunked.maxPending) / maxBytes,
    );
  },
);

// ---------------------------------------------------------------------------------------
// The whole chat input path: telnet -> framer -> UTF-8 -> sanitize

function pipelineRun(chunks: readonly Uint8Array[], maxLine: number): string[] {
  const telnet = new TelnetFilter();
  const framer = new LineFramer(maxLine, { emitEmpty: false });
  const out: string[] = [];
  for (const chunk of chunks) {
    framer.push(
      telnet.push(chunk),
      (line) => out.push(sanitize(decodeUtf8(line))),
      () => out.push(TOO_LONG),
    );
  }
  return out;
}

export const pipelineProperty = fc.property(
  fc.oneof(
    biasedBytes([IAC, 13, 10, 0, 0x1b, 0x5b, 0x5d, 0x07, 0xc2, 0x9b, 0xe2, 0x80, 0xae], 300),
    hostileText.map((s) => Uint8Array.from(Buffer.from(s, "utf8"))),
  ),
  cutsArb(300),
  fc.integer({ min: 1, max: 128 }),
  (data, cuts, maxLine) => {
    const whole = pipelineRun([data], maxLine);
    assert.deepEqual(pipelineRun(fresh(split(data, cuts)), maxLine), whole, "chunked differs from whole");
    for (const line of whole)
      assert.equal(firstForbidden(line), -1, `forbidden code point in ${JSON.stringify(line)}`);
    stats.pipelineLines += whole.length;
  },
);

// ---------------------------------------------------------------------------------------

/** A named property with the regression examples it must always pass (found by fuzzing or by hand). */
export interface NamedProperty {
  area: string;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: a heterogeneous list of properties
  property: fc.IProperty<any>;
  // biome-ignore lint/suspicious/noExplicitAny: examples match their property's arguments
  examples: any[];
}

const b = (...xs: (string | number[])[]) =>
  Uint8Array.from(xs.flatMap((x) => (typeof x === "string" ? [...Buffer.from(x, "latin1")] : x)));

export const PROPERTIES: NamedProperty[] = [
  {
    area: "line-framer",
    name: "LineFramer: bounded, chunking-invariant, matches the line-end model",
    property: framerProperty,
    examples: [
      [b("ab\r"), [3], 1, false],
      [b("abcdef\r\n"), [6, 7], 4, false],
      [b("\r", [0], "x\r\r\n"), [1, 2], 1, true],
      [b("aaaa\r"), [2], 4, true],
    ],
  },
  {
    area: "telnet",
    name: "TelnetFilter: chunking-invariant data and replies, refusals only, each once",
    property: telnetProperty,
    examples: [
      [b([IAC, IAC, IAC, 253, 1, IAC, 251, 1, IAC, 253, 1]), [1, 2, 4]],
      [concat([b([IAC, SB, 24]), new Uint8Array(MAX_SB_BYTES + 2).fill(0x41), b([IAC, SE])]), [4000, 4099]],
      [b([IAC, SB, 24, IAC, IAC, IAC, 253, 3, 0x61]), [4, 5]],
    ],
  },
  {
    area: "utf8",
    name: "decodeUtf8: never throws, well-formed, at most one unit per byte",
    property: utf8Property,
    examples: [[b([0xed, 0xa0, 0x80])], [b([0xf0, 0x9f])]],
  },
  {
    area: "utf8",
    name: "decodeUtf8 after framing: characters split across reads decode whole",
    property: utf8SplitProperty,
    examples: [["ж😀", [1, 3, 4]]],
  },
  {
    area: "sanitize",
    name: "sanitize: no forbidden character survives; idempotent; only removes",
    property: sanitizeProperty,
    examples: [
      ["\x1b[2J\x1b]0;t\x07\x9b31m\u202eevil\u2066"],
      ["\x1b\x1b[", ""],
      ["\x1b]\ud83d\ude00"],
      ["\x1b(\x9bB"],
    ],
  },
  {
    area: "names",
    name: "checkName: never accepts control characters or more than 32 characters",
    property: namesProperty,
    examples: [["a\x1bb"], ["\u0430\u0435x"], ["a".repeat(33)], ["ﬁ".repeat(17)], ["a\u0301".repeat(16)]],
  },
  {
    area: "ndjson",
    name: "NdjsonReader: bounded, chunking-invariant, never a line over its limit",
    property: ndjsonProperty,
    examples: [
      [Buffer.from("aaaa\nbb"), [2], 3],
      [Buffer.from("\r\n\n{}\n"), [1], 2],
      [Buffer.from([0xd0, 0xbf, 10]), [1], 2],
    ],
  },
  {
    area: "pipeline",
    name: "chat input path: telnet, framer, UTF-8, sanitize never let control through",
    property: pipelineProperty,
    examples: [[b("\x1b[2", [IAC, 241], "J\r\n"), [2, 4], 16]],
  },
];

/** runsFromEnv reads FUZZ_RUNS (cases per property), with a default. */
export function runsFromEnv(fallback: number): number {
  const n = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
