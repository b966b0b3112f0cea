import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { hashPassword } from "../../daemon/shared/password.ts";
import { ChatClient } from "../helpers/chat-client.ts";
import { startDaemon, tempDir, UNLIMITED_CHAT, waitFor } from "../helpers/daemon.ts";

const STORM = 60;
const PASSWORD = "stormpw";

/** What an observer read of the joins (or leaves): names told one by one, and combined lines. */
interface Told {
  single: string[];
  combined: { count: number; shown: string[] }[];
}

function told(text: string, verb: "joined" | "left"): Told {
  const single: string[] = [];
  const combined: Told["combined"] = [];
  for (const line of text.split("\r\n")) {
    const one = new RegExp(`^\\* (\\S+) ${verb}(?: \\(.*\\))?$`).exec(line);
    if (one) single.push(one[1]!);
    const many = new RegExp(`^\\* (\\d+) ${verb}: (.*?)(?: and (\\d+) more)?$`).exec(line);
    if (many) {
      const shown = many[2]!.split(", ");
      combined.push({ count: Number(many[1]), shown });
      if (shown.length + Number(many[3] ?? 0) !== Number(many[1]))
        throw new Error(`a combined line miscounts: ${line}`);
    }
  }
  return { single, combined };
}

const total = (t: Told) => t.single.length + t.combined.reduce((n, c) => n + c.count, 0);

test("chat storm - more than 10 sign-ins within a second are told in combined lines, each user exactly once; so are their leaves", async (t) => {
  // Seeded accounts with a cheap hash, as the bench does, so the sign-ins come fast enough to be a storm.
  const dir = tempDir();
  const hash = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1, keylen: 32 });
  const names = ["watcher", ...Array.from({ length: STORM }, (_, i) => `s${i}`)];
  const users = Object.fromEntries(
    names.map((name) => [
      name,
      { name, createdAt: new Date().toISOString(), lastLoginAt: null, lastAddress: null, password: hash },
    ]),
  );
  fs.mkdirSync(path.join(dir, "state"), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dir, "state", "identities.json"), JSON.stringify({ version: 1, users }), {
    mode: 0o600,
  });
  const daemon = await startDaemon(["--chat-port", "0", ...UNLIMITED_CHAT], { dir });
  const clients: ChatClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.close();
    await daemon.cleanup();
  });
  const signIn = async (c: ChatClient, name: string) => {
    await c.loginPrompt();
    c.send(name);
    await c.prompt("password: ");
    c.send(PASSWORD);
  };
  const watcher = await ChatClient.connect(daemon.chatPort);
  clients.push(watcher);
  await signIn(watcher, "watcher");
  await watcher.line(/^\* 1 online: /);

  // Every storm client is at its login prompt first; then all type name and password at once.
  const storm = await Promise.all(
    Array.from({ length: STORM }, async () => {
      const c = await ChatClient.connect(daemon.chatPort);
      clients.push(c);
      await c.loginPrompt();
      return c;
    }),
  );
  for (const [i, c] of storm.entries()) c.write(`s${i}\r\n${PASSWORD}\r\n`);
  await Promise.all(storm.map((c) => c.line(/^\* \d+ online: /, 60_000)));
  await waitFor(() => (total(told(watcher.all, "joined")) >= STORM ? true : null), 30_000, "every join told");

  // Then all leave at once; a user's join still waiting is told before their leave.
  for (const c of storm) c.send("/quit");
  await waitFor(() => (total(told(watcher.all, "left")) >= STORM ? true : null), 30_000, "every leave told");

  for (const verb of ["joined", "left"] as const) {
    const seen = told(watcher.all, verb);
    t.is(total(seen), STORM, `${verb}: every user told exactly once (${seen.single.length} one by one)`);
    t.true(seen.combined.length >= 1, `${verb}: the storm gave combined lines`);
    const shown = [...seen.single, ...seen.combined.flatMap((c) => c.shown)];
    t.is(new Set(shown).size, shown.length, `${verb}: no name told twice`);
    t.true(
      shown.every((name) => /^s\d+$/.test(name)),
      `${verb}: only the storm's users (the watcher is not told of itself)`,
    );
    for (const c of seen.combined) {
      const sorted = [...c.shown].sort();
      t.deepEqual(c.shown, sorted, `${verb}: a combined line's names are in /who's order`);
      t.true(c.shown.length <= 20, `${verb}: at most 20 names shown`);
    }
  }
  // Each user's join came before their leave, wherever the watcher can read both names.
  const order = new Map<string, string[]>();
  for (const line of watcher.all.split("\r\n")) {
    const m = /^\* (?:\d+ )?(joined|left)(?:: (.*?)(?: and \d+ more)?)?$/.exec(
      line.replace(/^\* (s\d+) /, "* "),
    );
    if (!m) continue;
    const named = m[2] ? m[2].split(", ") : [/^\* (s\d+) /.exec(line)![1]!];
    for (const name of named) order.set(name, [...(order.get(name) ?? []), m[1]!]);
  }
  for (const [name, verbs] of order) t.notDeepEqual(verbs, ["left", "joined"], `${name}: joined before left`);
});
