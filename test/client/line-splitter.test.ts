import test from "ava";
import { isPrompt, LineSplitter } from "../../client/line-splitter.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

test("line-splitter - splits CR LF and LF lines and drops the CR", (t) => {
  const s = new LineSplitter();
  t.deepEqual(s.push(bytes("* one\r\n* two\n<a> three\r\n")), ["* one", "* two", "<a> three"]);
  t.is(s.prompt, null);
  t.is(s.end(), null);
});

test("line-splitter - a line split across chunks, CR LF split too, is one line", (t) => {
  const s = new LineSplitter();
  t.deepEqual(s.push(bytes("<alice> hel")), []);
  t.deepEqual(s.push(bytes("lo\r")), []);
  t.deepEqual(s.push(bytes("\n* next")), ["<alice> hello"]);
  t.deepEqual(s.push(bytes("\r\n")), ["* next"]);
});

test("line-splitter - Cyrillic split in the middle of a character decodes whole", (t) => {
  const s = new LineSplitter();
  const all = bytes("<боб> Привет\r\n");
  const cut = 3; // inside the two-byte "б"
  t.deepEqual(s.push(all.subarray(0, cut)), []);
  t.deepEqual(s.push(all.subarray(cut, cut + 7)), []);
  t.deepEqual(s.push(all.subarray(cut + 7)), ["<боб> Привет"]);
});

test("line-splitter - every one-byte split of a multi-line text gives the same lines", (t) => {
  const text = "* привет, мир\r\n<ёжик> как дела?\r\nlogin: ";
  const all = bytes(text);
  for (let cut = 0; cut <= all.length; cut++) {
    const s = new LineSplitter();
    const lines = [...s.push(all.subarray(0, cut)), ...s.push(all.subarray(cut))];
    t.deepEqual(lines, ["* привет, мир", "<ёжик> как дела?"], `cut at ${cut}`);
    t.is(s.prompt, "login: ", `cut at ${cut}`);
  }
});

test("line-splitter - a trailing prompt is reported and not glued to what follows", (t) => {
  const s = new LineSplitter();
  t.deepEqual(s.push(bytes("* welcome\r\nlogin [alice]: ")), ["* welcome"]);
  t.is(s.prompt, "login [alice]: ");
  t.deepEqual(s.push(bytes("password: ")), []);
  t.is(s.prompt, "password: ", "the answered prompt is replaced, not extended");
  t.deepEqual(s.push(bytes("! wrong password\r\nlogin: ")), ["! wrong password"]);
  t.is(s.prompt, "login: ");
  t.is(s.end(), null, "a prompt left at the end is not a line");
});

test("line-splitter - a chat line cut after a colon is not a prompt", (t) => {
  const s = new LineSplitter();
  t.deepEqual(s.push(bytes("<bob> note: ")), []);
  t.is(s.prompt, null);
  t.deepEqual(s.push(bytes("read this\r\n")), ["<bob> note: read this"]);
});

test("line-splitter - without prompts (echo), a partial line ending ': ' stays a partial line", (t) => {
  const s = new LineSplitter({ prompts: false });
  t.deepEqual(s.push(bytes("key: ")), []);
  t.is(s.prompt, null);
  t.deepEqual(s.push(bytes("value\n")), ["key: value"]);
  t.deepEqual(s.push(bytes("no end")), []);
  t.is(s.end(), "no end");
});

test("line-splitter - isPrompt knows the server's prompts from other lines", (t) => {
  for (const p of ["login: ", "login [alice]: ", "password: ", "new password: ", "repeat password: "])
    t.true(isPrompt(p), p);
  for (const p of ["* note: ", "<bob> x: ", "! bad: ", "[2026-01-01 00:00:00] <a> b: ", "login:", "login"])
    t.false(isPrompt(p), p);
});

test("line splitter - the IAC WILL ECHO before a password prompt is left out of the prompt", (t) => {
  const s = new LineSplitter();
  t.deepEqual(s.push(bytes("* registered\r\n")), ["* registered"]);
  t.deepEqual(s.push(Uint8Array.of(0xff, 0xfb, 0x01, ...bytes("new password: "))), []);
  t.is(s.prompt, "new password: ");
});
