import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { LineFramer } from "../../protocol/line-framer.ts";
import { decodeUtf8 } from "../../protocol/text.ts";
import { TelnetFilter } from "../../protocol/telnet.ts";
import { byteByByte, bytes, check, concat, split } from "./helpers.ts";

/** An event: a line's text (latin1 so any byte is visible) or the too-long marker. */
type Ev = string;
const TOO_LONG = "<too long>";

function run(chunks: readonly Uint8Array[], maxLine = 16, framer = new LineFramer(maxLine)): Ev[] {
  const events: Ev[] = [];
  for (const c of chunks) {
    framer.push(
      c,
      (line) => events.push(Buffer.from(line).toString("latin1")),
      () => events.push(TOO_LONG),
    );
    assert.ok(framer.pendingBytes <= framer.maxLine);
  }
  return events;
}

/** runBoth feeds whole and byte by byte, asserts both agree, and returns the events. */
function runBoth(
  t: { deepEqual: (a: unknown, b: unknown, m?: string) => void },
  input: Uint8Array,
  maxLine = 16,
) {
  const whole = run([input], maxLine);
  t.deepEqual(run(byteByByte(input), maxLine), whole, "byte-by-byte differs from whole");
  return whole;
}

test("line framer - LF, CR LF, CR NUL and lone CR all end a line", (t) => {
  t.deepEqual(runBoth(t, bytes("a\nb\r\nc\r\0d\re\n")), ["a", "b", "c", "d", "e"]);
});

test("line framer - CR LF split across chunks is one line end", (t) => {
  const events = run([bytes("hello\r"), bytes("\nworld\r"), bytes("\0x\n")]);
  t.deepEqual(events, ["hello", "world", "x"]);
});

test("line framer - lone CR followed by text in the next chunk", (t) => {
  t.deepEqual(run([bytes("one\r"), bytes("two\r")]), ["one", "two"]);
  t.deepEqual(runBoth(t, bytes("one\rtwo\r\r\nthree\n")), ["one", "two", "three"]);
});

test("line framer - empty lines are ignored", (t) => {
  t.deepEqual(runBoth(t, bytes("\n\r\n\r\r\0\n\nx\n\n")), ["x"]);
});

test("line framer - a partial line waits for its line end", (t) => {
  const f = new LineFramer(16);
  const events = run([bytes("abc")], 16, f);
  t.deepEqual(events, []);
  t.is(f.pendingBytes, 3);
  t.deepEqual(run([bytes("def\n")], 16, f), ["abcdef"]);
  t.is(f.pendingBytes, 0);
});

test("line framer - a line wholly inside one chunk is emitted as a subarray of it", (t) => {
  const chunk = bytes("hi\nthere\n");
  const lines: Uint8Array[] = [];
  new LineFramer(16).push(
    chunk,
    (l) => lines.push(l),
    () => t.fail(),
  );
  t.is(lines.length, 2);
  t.is(lines[1]!.buffer, chunk.buffer);
  t.is(lines[1]!.byteOffset, 3);
});

test("line framer - a line that spans chunks may be kept after the next push", (t) => {
  const f = new LineFramer(16);
  const lines: Uint8Array[] = [];
  const onTooLong = () => t.fail();
  f.push(bytes("abc"), (l) => lines.push(l), onTooLong);
  f.push(bytes("d\nxy"), (l) => lines.push(l), onTooLong);
  f.push(bytes("zzzz\n"), (l) => lines.push(l), onTooLong);
  t.deepEqual(
    lines.map((l) => decodeUtf8(l)),
    ["abcd", "xyzzzz"],
  );
});

test("line framer - exactly maxLine bytes is allowed", (t) => {
  const line = "x".repeat(16);
  t.deepEqual(runBoth(t, bytes(`${line}\n`)), [line]);
  t.deepEqual(runBoth(t, bytes(`${line}\r`)), [line]);
});

test("line framer - maxLine + 1 bytes is reported once and framing resynchronises", (t) => {
  const long = "y".repeat(17);
  t.deepEqual(runBoth(t, bytes(`ok\n${long}\nafter\n`)), ["ok", TOO_LONG, "after"]);
  // Much longer, with CR LF: still exactly one report.
  t.deepEqual(runBoth(t, bytes(`${"z".repeat(100)}\r\nnext\r\n`)), [TOO_LONG, "next"]);
});

test("line framer - a too-long line split over chunks reports once, even before its end arrives", (t) => {
  const f = new LineFramer(8);
  const events: Ev[] = [];
  const push = (s: string) =>
    f.push(
      bytes(s),
      (l) => events.push(decodeUtf8(l)),
      () => events.push(TOO_LONG),
    );
  push("12345");
  push("6789"); // 9 bytes pending: over the limit now
  t.deepEqual(events, [TOO_LONG]);
  t.is(f.pendingBytes, 0);
  push("more and more");
  push("\r");
  push("\nfine\n");
  t.deepEqual(events, [TOO_LONG, "fine"]);
});

test("line framer - 100 MB without a newline keeps pendingBytes within maxLine and reports once", (t) => {
  const maxLine = 4096;
  const f = new LineFramer(maxLine);
  const chunk = new Uint8Array(65536).fill(0x61);
  let tooLong = 0;
  let lines = 0;
  let maxPending = 0;
  for (let sent = 0; sent < 100 * 1024 * 1024; sent += chunk.length) {
    f.push(
      chunk,
      () => lines++,
      () => tooLong++,
    );
    if (f.pendingBytes > maxPending) maxPending = f.pendingBytes;
  }
  t.is(tooLong, 1);
  t.is(lines, 0);
  t.true(maxPending <= maxLine);
  f.push(
    bytes("\nhello\n"),
    () => lines++,
    () => tooLong++,
  );
  t.is(lines, 1);
  t.is(tooLong, 1);
});

test("line framer - a small chunk size below the limit accumulates correctly", (t) => {
  const f = new LineFramer(4096);
  const text = "ab".repeat(2048); // 4096 bytes: allowed
  const events = run(split(bytes(`${text}\n`), [1, 100, 300, 1000, 4000, 4096]), 4096, f);
  t.deepEqual(events, [text]);
});

test("line framer - maxLine must be a positive integer", (t) => {
  t.throws(() => new LineFramer(0), { instanceOf: RangeError });
  t.throws(() => new LineFramer(1.5), { instanceOf: RangeError });
});

/** reference is a slow, obviously right framer to compare with. */
function reference(input: Uint8Array, maxLine: number): Ev[] {
  const events: Ev[] = [];
  let cur: number[] = [];
  let tooLong = false;
  const end = () => {
    if (tooLong) events.push(TOO_LONG);
    else if (cur.length > 0) events.push(Buffer.from(cur).toString("latin1"));
    cur = [];
    tooLong = false;
  };
  for (let i = 0; i < input.length; i++) {
    const b = input[i]!;
    if (b === 10) end();
    else if (b === 13) {
      end();
      if (input[i + 1] === 10 || input[i + 1] === 0) i++;
    } else if (!tooLong) {
      cur.push(b);
      if (cur.length > maxLine) {
        tooLong = true;
        cur = [];
      }
    }
  }
  // A pending over-long line has already been reported.
  if (tooLong) events.push(TOO_LONG);
  return events;
}

const lineBytes = fc.array(fc.constantFrom(10, 13, 0, 0x61, 0x62, 0xd0, 0xbf, 0x20), { maxLength: 120 });

test("line framer - property: any chunking gives the events of a reference framer", (t) => {
  check(
    t,
    fc.property(
      lineBytes,
      fc.array(fc.nat({ max: 130 }), { maxLength: 30 }),
      fc.integer({ min: 1, max: 12 }),
      (arr, cuts, maxLine) => {
        const input = Uint8Array.from(arr);
        const expected = reference(input, maxLine);
        assert.deepEqual(run([input], maxLine), expected);
        assert.deepEqual(run(split(input, cuts), maxLine), expected);
        assert.deepEqual(run(byteByByte(input), maxLine), expected);
      },
    ),
  );
});

test("line framer - property: UTF-8 split anywhere decodes like whole lines; invalid bytes become U+FFFD", (t) => {
  const text = fc.string({ unit: fc.constantFrom("a", "é", "ж", "€", "😀", "中", " ", "\uFFFD") });
  check(
    t,
    fc.property(
      fc.array(text, { maxLength: 8 }),
      fc.array(fc.nat({ max: 300 }), { maxLength: 40 }),
      (lines, cuts) => {
        const input = bytes(lines.map((l) => `${l}\r\n`).join(""));
        const got: string[] = [];
        const f = new LineFramer(1000);
        for (const c of split(input, cuts))
          f.push(
            c,
            (l) => got.push(decodeUtf8(l)),
            () => assert.fail("too long"),
          );
        assert.deepEqual(
          got,
          lines.filter((l) => l !== ""),
        );
      },
    ),
  );
  // Invalid bytes: a lone continuation byte and a truncated sequence.
  const got: string[] = [];
  const f = new LineFramer(10);
  for (const c of byteByByte(bytes("a", 0x80, "b", 0xe2, 0x82, "\n")))
    f.push(
      c,
      (l) => got.push(decodeUtf8(l)),
      () => t.fail(),
    );
  t.deepEqual(got, ["a\uFFFDb\uFFFD"]);
});

test("line framer - property: telnet filter, framer and decoder together survive any chunking", (t) => {
  const piece = fc.oneof(
    fc.constantFrom("hello", "привет", "😀", "中文", " ", "\r\n", "\n", "\r", "\r\0"),
    fc.constantFrom([0xff, 0xfd, 0x03], [0xff, 0xfa, 0x18, 0x00, 0x41, 0xff, 0xf0], [0xff, 0xf1]),
  );
  check(
    t,
    fc.property(
      fc.array(piece, { maxLength: 40 }),
      fc.array(fc.nat({ max: 300 }), { maxLength: 40 }),
      (pieces, cuts) => {
        const input = concat(pieces.map((p) => (typeof p === "string" ? bytes(p) : Uint8Array.from(p))));
        const textOnly = pieces.filter((p) => typeof p === "string").join("");
        // The text after the last line end is a partial line, not emitted yet.
        const expected = textOnly
          .split(/\r\0|\r\n|\r|\n/)
          .slice(0, -1)
          .filter((l) => l !== "");
        const got: string[] = [];
        const telnet = new TelnetFilter();
        const framer = new LineFramer(4096);
        for (const c of split(input, cuts))
          framer.push(
            telnet.push(c),
            (l) => got.push(decodeUtf8(l)),
            () => assert.fail("too long"),
          );
        assert.deepEqual(got, expected);
      },
    ),
  );
});

/** Lines as UTF-8 text from a line-editing framer, fed whole and byte by byte (both must agree). */
function edited(
  t: { deepEqual: (a: unknown, b: unknown, m?: string) => void },
  input: Uint8Array,
  maxLine = 64,
) {
  const feed = (chunks: readonly Uint8Array[]) => {
    const framer = new LineFramer(maxLine, { lineEditing: true });
    const events: string[] = [];
    for (const c of chunks)
      framer.push(
        c,
        (line) => events.push(decodeUtf8(line)),
        () => events.push(TOO_LONG),
      );
    return events;
  };
  const whole = feed([input]);
  t.deepEqual(feed(byteByByte(input)), whole, "byte-by-byte differs from whole");
  return whole;
}

test("line framer - line editing: DEL and BS erase the last character, Ctrl-U the whole line", (t) => {
  t.deepEqual(edited(t, bytes("helo\x7f\x7fllo\r\n")), ["hello"]);
  t.deepEqual(edited(t, bytes("helo\x08\x08llo\r\0")), ["hello"]);
  t.deepEqual(edited(t, bytes("bad\x7fname\n")), ["baname"]);
  t.deepEqual(edited(t, bytes("rubbish\x15good\n")), ["good"]);
  t.deepEqual(
    edited(t, bytes("\x7f\x08ab\x7f\x7f\x7fc\n")),
    ["c"],
    "erasing past the start erases nothing more",
  );
});

test("line framer - line editing erases a whole code point: Cyrillic, emoji, a combining mark alone", (t) => {
  t.deepEqual(edited(t, bytes("привет\x7f\x7fт\n")), ["привт"]);
  t.deepEqual(edited(t, bytes("ok 😀\x7f!\n")), ["ok !"]);
  t.deepEqual(edited(t, bytes("cafe\u0301\x7f\n")), ["cafe"], "e + U+0301: DEL takes the accent only");
  t.deepEqual(edited(t, bytes("日本\x08\n")), ["日"]);
  t.deepEqual(edited(t, bytes("a", [0x80, 0x80], "\x7f\n")), ["a\uFFFD"], "a stray byte is one character");
});

test("line framer - line editing does not reach an earlier line, and an erased-empty line is empty", (t) => {
  t.deepEqual(edited(t, bytes("one\n\x7f\x7ftwo\n")), ["one", "two"]);
  t.deepEqual(edited(t, bytes("x\x7f\nnext\n")), ["next"]);
});

test("line framer - line editing: erased bytes do not count against maxLine, and the pending line stays bounded", (t) => {
  const typed = `${"a\x7f".repeat(1000)}${"b".repeat(16)}\n`;
  t.deepEqual(edited(t, bytes(typed), 16), ["b".repeat(16)]);
  t.deepEqual(
    edited(t, bytes(`${"c".repeat(17)}\x15short\nok\n`), 16),
    [TOO_LONG, "ok"],
    "too long is too long",
  );
});

test("line framer - without lineEditing, DEL and BS are part of the line", (t) => {
  t.deepEqual(runBoth(t, bytes("ab\x7f\x08\n")), ["ab\x7f\x08"]);
});

test("line framer - property: line editing gives the same lines in any chunking, within maxLine", (t) => {
  const keys = fc.array(
    fc.oneof(
      fc.constantFrom("a", "я", "😀", "\x7f", "\x08", "\x15", "\r", "\n", "\r\n", "\r\0", "\u0301"),
      fc.string({ maxLength: 3 }),
    ),
    { maxLength: 80 },
  );
  check(
    t,
    fc.property(keys, fc.array(fc.nat(400), { maxLength: 6 }), (typed, cuts) => {
      const input = bytes(typed.join(""));
      const feed = (chunks: readonly Uint8Array[]) => {
        const framer = new LineFramer(12, { lineEditing: true, emitEmpty: true });
        const out: string[] = [];
        for (const c of chunks) {
          framer.push(
            c,
            (line) => out.push(Buffer.from(line).toString("latin1")),
            () => out.push(TOO_LONG),
          );
          assert.ok(framer.pendingBytes <= 12);
        }
        return out;
      };
      const whole = feed([input]);
      assert.deepEqual(feed(split(input, cuts)), whole);
      for (const line of whole) assert.ok(!/[\x7f\x08\x15]/.test(line), "an erase key left in a line");
    }),
  );
});

test("line framer - property: the client's answers (IAC DO/DONT ECHO) between a CR and its LF or NUL make no extra line", (t) => {
  // What a session sees after a password prompt: the typed line ends CR LF (line mode) or CR NUL
  // (character mode), and the answer to the offer may come anywhere, in any chunking. An extra
  // empty line here would be an empty answer to the next prompt.
  const answers = [
    [0xff, 0xfd, 0x01],
    [0xff, 0xfe, 0x01],
    [0xff, 0xfd, 0x03],
  ];
  check(
    t,
    fc.property(
      fc.constantFrom("\r\n", "\r\0", "\n", "\r"),
      fc.array(fc.nat(3), { maxLength: 4 }),
      fc.array(fc.nat(40), { maxLength: 8 }),
      fc.nat(30),
      (end, where, cuts, answerPick) => {
        const typed = bytes(`alice${end}secret${end}`);
        // Answers put in at chosen places, the CR / LF pair split by them included.
        const spots = [...new Set(where.map((w) => [5, 6, 12, 13][w]!))].sort((a, b) => b - a);
        const input = [...typed];
        for (const at of spots) input.splice(at, 0, ...answers[answerPick % answers.length]!);
        const telnet = new TelnetFilter();
        const framer = new LineFramer(64, { emitEmpty: true, lineEditing: true });
        const lines: string[] = [];
        for (const chunk of split(Uint8Array.from(input), cuts))
          framer.push(
            telnet.push(chunk),
            (line) => lines.push(decodeUtf8(line)),
            () => lines.push(TOO_LONG),
          );
        assert.deepEqual(lines, ["alice", "secret"]);
      },
    ),
  );
});
