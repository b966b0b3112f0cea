import test from "ava";
import { MANY_REGISTRATIONS } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

/**
 * What a user types, as raw bytes against the real daemon: line editing by a client that sends
 * each key (BS, DEL, Ctrl-U), names typed with an erase, an over-long line at a prompt, /passwd's
 * first question, and /me in history (chat-protocol.md; issue 13).
 */
const d = useDaemon(test, ["--no-echo", "--max-per-address", "0", ...MANY_REGISTRATIONS]);

test.serial(
  "input - DEL, BS and Ctrl-U edit the line as it arrives, a key at a time or all at once",
  async (t) => {
    const a = await d.user("reader");
    const b = await d.user("keys");
    // One key per write, as telnet in character mode sends them.
    for (const key of ["h", "e", "l", "o", "\x7f", "\x7f", "l", "l", "o", "\r", "\0"]) {
      b.write(key);
      await new Promise((resolve) => setImmediate(resolve));
    }
    t.is(await a.line(/^<keys> /), "<keys> hello");
    b.write("привет\x7f\x7fт\r\n");
    t.is(await a.line(/^<keys> /), "<keys> привт", "each DEL takes one Cyrillic letter (two bytes)");
    b.write("ok 👍🏽\x7f\x7f!\r\n");
    t.is(await a.line(/^<keys> /), "<keys> ok !", "an emoji and its skin-tone modifier: one code point each");
    b.write("cafe\u0301\x08\r\n");
    t.is(await a.line(/^<keys> /), "<keys> cafe", "a combining accent is a code point of its own");
    b.write("all of this\x15kept\r\n");
    t.is(await a.line(/^<keys> /), "<keys> kept");
    b.write("x\x7f\r\n\x7f\x7fnext\r\n");
    t.is(
      await a.line(/^<keys> /),
      "<keys> next",
      "an erased-empty line is not sent; an erase does not reach back",
    );
    t.false(a.all.includes("\x7f") || a.all.includes("\x08") || a.all.includes("\x15"));
  },
);

test.serial(
  "input - a name typed with an erase is the name meant; other control characters still refuse it",
  async (t) => {
    const c = await d.client();
    await c.loginPrompt();
    c.write("bad\x01name\r\n");
    t.is(await c.next(), "! names cannot contain control characters");
    await c.loginPrompt();
    c.write("bad\x7fname\r\n");
    await c.prompt("new password: ");
    c.send("secret1");
    await c.prompt("repeat password: ");
    c.send("secret1");
    t.is(await c.line(/^\* registered/), "* registered baname");
    const other = await d.client();
    await other.loginPrompt();
    other.write("xyz\x15baname\r\n");
    await other.prompt("password: ");
    other.send("secret1");
    t.is(await other.line(/^\* welcome back/), "* welcome back, baname");
  },
);

test.serial(
  "input - piped input with an over-long line: the error is on its own line, then the prompt again",
  async (t) => {
    const c = await d.client();
    // Everything at once, before the greeting, as `cat file | nc` sends it.
    c.write(`${"x".repeat(5000)}\nlongname\n`);
    await c.prompt("new password: ");
    const screen = c.all;
    t.regex(
      screen,
      /\n(login(?: \[[^\]]*\])?: )\r\n! line too long \(limit 4096 bytes\)\r\n\1new password: $/,
      "the prompt, CR LF, the error, the prompt again",
    );
    t.false(/: ! line too long/.test(screen), "not inside the prompt");
  },
);

test.serial("input - /passwd asks for the current password first", async (t) => {
  const c = await d.user("changer", "first-pw");
  c.send("/passwd");
  await c.prompt("password: ");
  t.is(c.unread, "", "the prompt is `password: ` (chat-protocol.md), nothing after it");
  c.send("first-pw");
  await c.prompt("new password: ");
  c.send("second-pw");
  await c.prompt("repeat password: ");
  c.send("second-pw");
  t.is(await c.line(/^\* password/), "* password changed");
});

test.serial("input - /me is kept in history and replayed as [time] * name action", async (t) => {
  const a = await d.user("actor");
  const seer = await d.user("seer");
  await a.announced("seer", "joined");
  a.send("/me bows");
  a.send("plain words");
  // Both have passed the hub (and are in history) once seer has the second.
  await seer.line("<actor> plain words");
  const late = await d.client();
  await late.register("latecomer", "secret1");
  const all = late.all.split("\r\n");
  const bows = all.findIndex((l) => /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] \* actor bows$/.test(l));
  const words = all.findIndex((l) => /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] <actor> plain words$/.test(l));
  t.true(bows !== -1, "the action is in the replay");
  t.true(words > bows, "in order with the messages");
  late.send("/history 5");
  await late.line("* end of history");
  t.regex(late.all, /\] \* actor bows\r\n[\s\S]*\] <actor> plain words\r\n\* end of history/);
});
