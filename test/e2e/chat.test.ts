import fs from "node:fs";
import path from "node:path";
import test from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, shape, waitFor } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

const d = useDaemon(test, [
  ...shape(2, 2),
  "--no-echo",
  "--max-per-address",
  "0",
  "--log-level",
  "debug",
  ...MANY_REGISTRATIONS,
]);
const client = () => d.client();
const user = (name: string, password?: string) => d.user(name, password);

/**
 * Resolves once a line `from` sends after now has reached `to`. A session's lines pass the hub
 * in order and each thread gets them in order, so every line `to` would get before it (from
 * anyone the hub had already heard) has arrived by then: what has not come by now never will.
 */
async function settled(from: ChatClient, fromName: string, to: ChatClient): Promise<void> {
  const marker = `sync-${Math.random().toString(36).slice(2)}`;
  from.send(marker);
  await to.line(`<${fromName}> ${marker}`);
}

test.serial(
  "chat - registration dialogue: greeting, prompts, registered, history, online list",
  async (t) => {
    const c = await client();
    t.regex(await c.next(), /^\* /, "a greeting notice first");
    t.is(await c.loginPrompt(), undefined, "a new address gets a plain login prompt");
    c.send("alice");
    await c.prompt("new password: ");
    c.send("pw1");
    t.regex(await c.next(), /^! /, "a too-short password is refused");
    await c.prompt("new password: ");
    c.send("secret1");
    await c.prompt("repeat password: ");
    c.send("other1");
    t.regex(await c.next(), /^! /, "passwords that differ are refused");
    await c.prompt("new password: ");
    c.send("secret1");
    await c.prompt("repeat password: ");
    c.send("secret1");
    t.regex(await c.line(/^\* registered/), /alice/);
    t.is(await c.line(/^\* \d+ online: /), "* 1 online: alice");
  },
);

test.serial("chat - a known user signs in with the right password and is welcomed back", async (t) => {
  const c = await client();
  await c.loginPrompt();
  c.send("ALICE");
  await c.prompt("password: ");
  c.send("secret1");
  t.regex(await c.next(), /^\* welcome back, alice$/);
  t.is(await c.line(/online/), "* 1 online: alice");
});

test.serial(
  "chat - wrong password: an error and a new login prompt; after 3 the connection closes",
  async (t) => {
    const c = await client();
    for (let i = 1; i <= 3; i++) {
      await c.loginPrompt();
      c.send("alice");
      await c.prompt("password: ");
      c.send(`wrong${i}`);
      if (i < 3) t.is(await c.next(10_000), "! wrong password");
    }
    t.is(await c.next(20_000), "! too many failures");
    await c.closedByServer();
    t.true(c.closed);
  },
);

test.serial(
  "chat - a line is relayed to every other user, not back to the sender; Cyrillic intact",
  async (t) => {
    const a = await user("Борис");
    const b = await user("Глеб");
    const c = await user("Дарья");
    t.is(await a.line(/joined/), "* Глеб joined");
    a.send("привет всем");
    t.is(await b.line(/^</), "<Борис> привет всем");
    t.is(await c.line(/^</), "<Борис> привет всем");
    b.send("/who");
    t.is(await b.line(/online/), "* 3 online: Борис, Глеб, Дарья");
    await settled(c, "Дарья", a);
    t.false(a.all.includes("<Борис>"), "the sender does not get its own line");
  },
);

test.serial("chat - joins and leaves are announced; /quit with a reason", async (t) => {
  const a = await user("carol");
  const b = await user("dave");
  t.is(await a.line(/joined/), "* dave joined");
  b.send("/quit gone fishing");
  t.is(await b.next(), "* bye");
  await b.closedByServer();
  t.is(await a.line(/left/), "* dave left (gone fishing)");
  const c = await user("erin");
  t.is(await a.line(/joined/), "* erin joined");
  c.close();
  t.is(await a.line(/left/), "* erin left");
});

test.serial("chat - commands: /help, /who, /msg, /me, //, unknown, /history", async (t) => {
  const a = await user("frank");
  const b = await user("grace");
  a.send("/help");
  t.regex(await a.line(/\/msg/), /^\* /);
  b.send("/msg frank psst");
  t.is(await b.next(), "-> *frank* psst");
  t.is(await a.line(/^\*grace\*/), "*grace* psst");
  b.send("/msg nobody hi");
  t.is(await b.next(), "! no such user online: nobody");
  b.send("/me waves");
  t.is(await a.line(/waves/), "* grace waves");
  b.send("//slash");
  t.is(await a.line(/slash/), "<grace> /slash");
  b.send("/frobnicate");
  t.is(await b.line(/^!/), "! unknown command /frobnicate (try /help)");
  b.send("/history 2");
  const first = await b.next();
  const second = await b.next();
  t.regex(first, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] \* grace waves$/, "a /me is kept in history");
  t.regex(second, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] <grace> \/slash$/);
  t.is(await b.next(), "* end of history");
  b.send("/history lots");
  t.regex(await b.next(), /^! /);
});

test.serial("chat - history is replayed at sign-in, oldest first, in history form", async (t) => {
  const a = await user("heidi");
  for (let i = 1; i <= 3; i++) a.send(`note ${i}`);
  // The hub answers /history after the lines sent before it: then they are in the history.
  a.send("/history 1");
  await a.line(/\] <heidi> note 3$/);
  const b = await client();
  await b.typeRegistration("ivan", "secret1");
  await b.line(/^\* registered/);
  const replay: string[] = [];
  for (;;) {
    const line = await b.next();
    if (line.startsWith("* ")) break;
    replay.push(line);
  }
  t.true(replay.length <= 20);
  t.deepEqual(
    replay.slice(-3).map((l) => l.replace(/^\[[^\]]+\] /, "")),
    ["<heidi> note 1", "<heidi> note 2", "<heidi> note 3"],
  );
});

test.serial("chat - signing in elsewhere takes over the old connection; nobody else is told", async (t) => {
  const watcher = await user("judy");
  const old = await user("kim");
  // One by one, or combined when this file's sign-ins come more than 10 a second (a storm).
  await watcher.announced("kim", "joined");
  const fresh = await client();
  await fresh.signIn("kim", "secret1");
  t.is(await old.line(/elsewhere/), "* signed in from elsewhere");
  await old.closedByServer();
  fresh.send("still me");
  t.is(await watcher.line(/^</), "<kim> still me");
  t.false(/kim (left|joined)/.test(watcher.unread));
});

test.serial("chat - names: bad names get the rule and a new prompt", async (t) => {
  const c = await client();
  const offered = await c.loginPrompt();
  for (const bad of ["a b", "Аlice", "x".repeat(33), "bad\u0007name"]) {
    c.send(bad);
    t.regex(await c.line(/^! /), /^! .*names/, bad);
    t.is(await c.loginPrompt(), offered);
  }
  c.send("nobody-yet");
  await c.prompt("new password: ");
  t.regex(c.all, /login/);
});

test.serial("chat - the address's last name is offered and an empty answer takes it", async (t) => {
  await user("leo");
  const c = await client();
  await c.prompt("login [leo]: ");
  c.send("");
  await c.prompt("password: ");
  c.send("secret1");
  t.is(await c.line(/^\* welcome back/), "* welcome back, leo");
});

test.serial("chat - a line over 4096 bytes gets one error and the connection stays usable", async (t) => {
  const a = await user("mia");
  const b = await user("ned");
  b.write(`${"x".repeat(5000)}\r\n`);
  t.is(await b.line(/^!/), "! line too long (limit 4096 bytes)");
  b.send("short");
  t.is(await a.line(/^</), "<ned> short");
  t.false(a.unread.includes("xxxx"));
});

test.serial("chat - flood control: beyond the burst of 20 lines wait their turn, none dropped", async (t) => {
  const a = await user("olga");
  const b = await user("pete");
  for (let i = 0; i < 30; i++) b.send(`line ${i}`);
  // The last of the 10 queued lines comes at the rate (5 a second): about 2 s after the burst.
  await a.line("<pete> line 29", 30_000);
  const got = a.all.split("\r\n").filter((l) => /^<pete> line \d+$/.test(l));
  t.deepEqual(
    got,
    Array.from({ length: 30 }, (_, i) => `<pete> line ${i}`),
    "every line, in order",
  );
  t.false(b.all.includes("! slow down"), "nothing dropped, so no ! slow down");
});

test.serial("chat - ANSI, bidi and control characters never reach another user", async (t) => {
  const a = await user("quinn");
  const b = await user("rosa");
  b.send("\x1b[2J\x1b]0;title\x07red\u202Eevil\u0085\x00 done");
  const line = await a.line(/^<rosa>/);
  t.is(line, "<rosa> redevil done");
});

test.serial("chat - telnet negotiation is filtered and refused", async (t) => {
  const a = await user("sam");
  const b = await user("tina");
  // IAC DO TERMINAL-TYPE and IAC SB ... IAC SE inside a line.
  b.write(
    Buffer.concat([
      Buffer.from([255, 253, 24]),
      Buffer.from("he"),
      Buffer.from([255, 250, 24, 0, 65, 255, 240]),
      Buffer.from("llo\r\n"),
    ]),
  );
  t.is(await a.line(/^<tina>/), "<tina> hello");
  t.true(b.bytes.includes(Buffer.from([255, 252, 24])), "IAC WONT TERMINAL-TYPE in reply");
});

test.serial("chat - no password ever appears in the log file", async (t) => {
  const a = await user("uma", "hunter2-secret");
  a.send("/passwd");
  await a.prompt("password: ");
  a.send("hunter2-secret");
  await a.prompt("new password: ");
  a.send("another-secret");
  await a.prompt("repeat password: ");
  a.send("another-secret");
  t.is(await a.line(/^\*/), "* password changed");
  const file = path.join(d.daemon.logDir, "tsd.log");
  const log = await waitFor(
    () => {
      const text = fs.readFileSync(file, "utf8");
      return /password changed .*name=uma/.test(text) && text;
    },
    15_000,
    "the password change in tsd.log",
  );
  t.regex(log, /sign-in/);
  t.false(log.includes("hunter2-secret"));
  t.false(log.includes("another-secret"));
  t.false(d.daemon.stdout().includes("hunter2-secret"));
});
