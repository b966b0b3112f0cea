import test from "ava";
import { parseHistoryCount, parseInput, splitMsgArgs } from "../../protocol/chat-input.ts";

test("chat input - plain text is a message", (t) => {
  t.deepEqual(parseInput("hello world"), { kind: "message", text: "hello world" });
  t.deepEqual(parseInput(" /not a command"), { kind: "message", text: " /not a command" });
  t.deepEqual(parseInput("привет"), { kind: "message", text: "привет" });
});

test("chat input - //text sends /text", (t) => {
  t.deepEqual(parseInput("//help"), { kind: "message", text: "/help" });
  t.deepEqual(parseInput("//"), { kind: "message", text: "/" });
});

test("chat input - commands are lower-cased with leading whitespace trimmed from args", (t) => {
  t.deepEqual(parseInput("/who"), { kind: "command", name: "who", args: "" });
  t.deepEqual(parseInput("/MSG   bob  hi there "), { kind: "command", name: "msg", args: "bob  hi there " });
  t.deepEqual(parseInput("/me\twaves"), { kind: "command", name: "me", args: "waves" });
  t.deepEqual(parseInput("/foo"), { kind: "command", name: "foo", args: "" });
  t.deepEqual(parseInput("/"), { kind: "command", name: "", args: "" });
});

test("chat input - /history count", (t) => {
  t.is(parseHistoryCount(""), 20);
  t.is(parseHistoryCount("  "), 20);
  t.is(parseHistoryCount("5"), 5);
  t.is(parseHistoryCount(" 500 "), 500);
  t.is(parseHistoryCount("501"), 500);
  t.is(parseHistoryCount("99999999999999999999999"), 500);
  t.is(parseHistoryCount("0"), 0);
  t.is(parseHistoryCount("abc"), null);
  t.is(parseHistoryCount("-1"), null);
  t.is(parseHistoryCount("1.5"), null);
  t.is(parseHistoryCount("5 6"), null);
});

test("chat input - /msg arguments", (t) => {
  t.deepEqual(splitMsgArgs("bob hi there"), { name: "bob", text: "hi there" });
  t.deepEqual(splitMsgArgs("  bob \t hi  "), { name: "bob", text: "hi  " });
  t.is(splitMsgArgs("bob"), null);
  t.is(splitMsgArgs("bob   "), null);
  t.is(splitMsgArgs(""), null);
});
