import test from "ava";
import { NdjsonReader } from "../../protocol/ndjson.ts";

function feed(reader: NdjsonReader, chunks: string[]): { lines: string[]; ok: boolean } {
  const lines: string[] = [];
  let ok = true;
  for (const chunk of chunks) ok = reader.push(Buffer.from(chunk), (line) => lines.push(line)) && ok;
  return { lines, ok };
}

test("ndjson - lines fed whole and byte by byte give the same texts", (t) => {
  const input = '{"a":1}\n{"b":"é"}\r\n\n{"c":[1,2]}\n';
  const whole = feed(new NdjsonReader(1024), [input]);
  const bytes = new NdjsonReader(1024);
  const lines: string[] = [];
  for (const byte of Buffer.from(input)) bytes.push(Buffer.from([byte]), (line) => lines.push(line));
  t.deepEqual(whole.lines, ['{"a":1}', '{"b":"é"}\r', '{"c":[1,2]}']);
  t.deepEqual(lines, whole.lines);
});

test("ndjson - a line over the limit stops the reader, even without a newline", (t) => {
  const reader = new NdjsonReader(10);
  const first = feed(reader, ["0123456789\n", "01234"]);
  t.deepEqual(first.lines, ["0123456789"]);
  t.true(first.ok);
  t.is(reader.pendingBytes, 5);
  t.false(reader.push(Buffer.from("567890"), () => t.fail()));
  t.is(reader.pendingBytes, 0);
  t.false(
    reader.push(Buffer.from("\n"), () => t.fail()),
    "stays unusable after an overflow",
  );
});
