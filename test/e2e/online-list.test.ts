import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { onlineLine } from "../../protocol/chat-lines.ts";
import { hashPassword } from "../../daemon/shared/password.ts";
import { ChatClient } from "../helpers/chat-client.ts";
import { shape, startDaemon, tempDir, UNLIMITED_CHAT, waitFor } from "../helpers/daemon.ts";

const PASSWORD = "listpw";
/** Mixed case and scripts, so the order is /who's (case-folded, by code point), not the sign-in order. */
const NAMES = [
  ...Array.from({ length: 24 }, (_, i) => `u${String(i).padStart(2, "0")}`),
  "Zed",
  "amy",
  "Bob",
  "борис",
  "Анна",
  "x.y",
  "x-y",
  "X_z",
];

/** The names told as left, alone (`* NAME left`) or in a combined line (`* 3 left: a, b, c`). */
function toldLeft(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\r\n")) {
    const one = /^\* (\S+) left(?: \(.*\))?$/.exec(line);
    if (one) names.add(one[1]!);
    const many = /^\* \d+ left: (.*?)(?: and \d+ more)?$/.exec(line);
    if (many) for (const name of many[1]!.split(", ")) names.add(name);
  }
  return names;
}

test("online list - after a storm of joins, leaves, drops, away and a takeover, a sign-in's online line is exactly /who's", async (t) => {
  // Seeded accounts with a cheap hash, so the sign-ins come together as a storm would.
  const dir = tempDir();
  const hash = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1, keylen: 32 });
  const everyone = [...NAMES, "late1", "late2", "last"];
  const users = Object.fromEntries(
    everyone.map((name) => [
      name.toLowerCase(),
      { name, createdAt: new Date().toISOString(), lastLoginAt: null, lastAddress: null, password: hash },
    ]),
  );
  fs.mkdirSync(path.join(dir, "state"), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, "state", "identities.json"), JSON.stringify({ version: 1, users }), {
    mode: 0o600,
  });
  const daemon = await startDaemon(["--chat-port", "0", ...shape(2, 2), ...UNLIMITED_CHAT], { dir });
  const clients: ChatClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    await daemon.cleanup();
  });
  const connect = async () => {
    const c = await ChatClient.connect(daemon.chatPort);
    clients.push(c);
    await c.loginPrompt();
    return c;
  };
  /** Signs in and resolves with the `* N online: ...` line the sign-in ended with. */
  const signIn = async (c: ChatClient, name: string) => {
    c.write(`${name}\r\n${PASSWORD}\r\n`);
    return `${await c.line(/^\* \d+ online: /, 60_000)}\r\n`;
  };

  const watcher = await connect();
  await signIn(watcher, "u00");
  // Everyone else at once: their join requests reach the hub from four threads together.
  const rest = NAMES.slice(1);
  const sessions = new Map(await Promise.all(rest.map(async (name) => [name, await connect()] as const)));
  const firstLines = await Promise.all(rest.map((name) => signIn(sessions.get(name)!, name)));
  for (const line of firstLines) t.regex(line, /^\* \d+ online: /);

  const online = new Set(NAMES);
  const away = new Set<string>();
  // Some quit, some drop their connection, some go away and one of those comes back.
  for (const name of ["u03", "u07", "Zed", "борис"]) {
    sessions.get(name)!.send("/quit");
    online.delete(name);
  }
  for (const name of ["u11", "x.y", "amy"]) {
    sessions.get(name)!.socket.destroy();
    online.delete(name);
  }
  for (const name of ["Bob", "Анна", "u20"]) {
    sessions.get(name)!.send("/away lunch");
    await sessions.get(name)!.line(/^\* you are marked away/);
    away.add(name);
  }
  sessions.get("u20")!.send("/away");
  await sessions.get("u20")!.line(/^\* /);
  away.delete("u20");
  // Every leave told to the watcher (one by one, or in a storm's combined line: at most 20 names shown, here 7).
  const gone = ["u03", "u07", "Zed", "борис", "u11", "x.y", "amy"];
  await waitFor(
    () => (gone.every((name) => toldLeft(watcher.all).has(name)) ? true : null),
    30_000,
    "every leave told",
  );

  // A takeover of an away user (it is back, as any new sign-in is) and two new sign-ins.
  const takeover = await connect();
  const takeoverLine = await signIn(takeover, "Bob");
  away.delete("Bob");
  t.is(takeoverLine, onlineLine([...online], [...away]), "the takeover's own line");
  for (const name of ["late1", "late2"]) {
    await signIn(await connect(), name);
    online.add(name);
  }

  const last = await connect();
  online.add("last");
  const line = await signIn(last, "last");
  last.send("/who");
  const who = `${await last.line(/^\* \d+ online: /)}\r\n`;
  t.is(line, who, "the sign-in's online line is /who's");
  t.is(line, onlineLine([...online], [...away]), "and names exactly who is online, away users marked");
});
