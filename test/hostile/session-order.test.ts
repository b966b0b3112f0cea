import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { shape, startDaemon, UNLIMITED_CHAT, waitFor } from "../helpers/daemon.ts";

/** The numbers of `<sender> nK` lines in a transcript, live (`<sender> `) or replayed (`] <sender> `). */
function numbers(lines: string[], sender: string, replayed: boolean): number[] {
  const live = new RegExp(`^<${sender}> n(\\d+)$`);
  const history = new RegExp(`^\\[[^\\]]+\\] <${sender}> n(\\d+)$`);
  return lines.flatMap((l) => {
    const m = (replayed ? history : live).exec(l);
    return m ? [Number(m[1])] : [];
  });
}

test("sign-in order - with a sender at ~1,000 lines/s, replay and online line come first and nothing twice", async (t) => {
  const daemon = await startDaemon([...shape(1, 2), ...UNLIMITED_CHAT]);
  t.teardown(() => daemon.cleanup());
  const sender = await ChatClient.connect(daemon.chatPort);
  await sender.register("talker", "secret1");
  let sending = true;
  let sent = 0;
  const talking = (async () => {
    // 20 lines every ~20 ms, for as long as the sign-ins go on (bounded by a count).
    while (sending && sent < 60_000) {
      sender.write(Array.from({ length: 20 }, () => `n${sent++}\r\n`).join(""));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  const joiners: ChatClient[] = [];
  for (let i = 0; i < 30; i++) {
    const c = await ChatClient.connect(daemon.chatPort);
    await c.register(`j${i}`, "secret1");
    joiners.push(c);
  }
  sending = false;
  await talking;
  const last = sent - 1;
  // The last line reaches everyone, live or (for a late joiner) in the replay.
  const lastLine = new RegExp(`<talker> n${last}\r\n`);
  for (const c of joiners) await waitFor(() => lastLine.test(c.all), 60_000, `n${last} everywhere`);

  let withReplay = 0;
  for (const [i, c] of joiners.entries()) {
    const lines = c.all.split("\r\n");
    const online = lines.findIndex((l) => /^\* \d+ online: /.test(l));
    const before = lines.slice(0, online);
    const after = lines.slice(online + 1);
    t.deepEqual(numbers(before, "talker", false), [], `j${i}: no live line before the online line`);
    const replay = numbers(before, "talker", true);
    const live = numbers(after, "talker", false);
    t.deepEqual(numbers(after, "talker", true), [], `j${i}: no replayed line after the online line`);
    // Replay then live: one unbroken run of the sender's lines, ending with the last, none twice.
    const seen = [...replay, ...live];
    t.true(seen.length > 0, `j${i}: the sender's lines`);
    const expected = Array.from({ length: last - seen[0]! + 1 }, (_, k) => seen[0]! + k);
    t.deepEqual(seen, expected, `j${i}: every line once, in order, live after replay`);
    if (replay.length > 0 && live.length > 0) withReplay++;
  }
  t.log(
    `BOUND sign-in order: 30 sign-ins under ${sent} lines, ${withReplay} joined mid-stream (replay and live)`,
  );
  for (const c of [sender, ...joiners]) c.close();
});

test("session end - a /msg sent after the user saw the end of the session finds them offline", async (t) => {
  const daemon = await startDaemon([...shape(1, 2), ...UNLIMITED_CHAT]);
  t.teardown(() => daemon.cleanup());
  const bob = await ChatClient.connect(daemon.chatPort);
  await bob.register("bob", "secret1");
  const first = await ChatClient.connect(daemon.chatPort);
  await first.register("alice", "secret1");
  first.close();
  for (let round = 0; round < 20; round++) {
    const alice = await ChatClient.connect(daemon.chatPort);
    await alice.signIn("alice", "secret1");
    const kicked = round % 2 === 1;
    if (kicked) {
      void daemon.tsctl(["kick", "alice"]);
      await alice.line(/^\* disconnected by the operator/);
    } else {
      alice.send("/quit");
      await alice.line("* bye");
    }
    bob.send(`/msg alice round ${round}`);
    const answer = await bob.line(/^(! no such user online: alice|-> \*alice\* round \d+)$/);
    t.is(answer, "! no such user online: alice", `round ${round} (${kicked ? "kick" : "/quit"})`);
    await alice.closedByServer();
    t.false(alice.all.includes(`*bob* round ${round}`), "nothing reached the session that ended");
  }
  bob.close();
});

test("shutdown - a user whose account was written hears * registered before the shutdown line", async (t) => {
  const daemon = await startDaemon([...shape(1, 2), ...UNLIMITED_CHAT]);
  t.teardown(() => daemon.cleanup());
  const clients = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const c = await ChatClient.connect(daemon.chatPort);
      await c.loginPrompt();
      c.send(`r${i}`);
      await c.prompt("new password: ");
      c.send("secret1");
      await c.prompt("repeat password: ");
      return c;
    }),
  );
  // Every registration is in flight (hashing, the locked write) when the daemon is told to stop.
  for (const c of clients) c.send("secret1");
  daemon.proc.kill("SIGTERM");
  await daemon.exited;
  const file = path.join(daemon.stateDir, "identities.json");
  // No file at all: no registration reached the disk.
  const written = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  let registered = 0;
  for (const [i, c] of clients.entries()) {
    await c.closedByServer();
    const account = written.includes(`"r${i}"`);
    const heard = c.all.indexOf(`* registered r${i}`);
    const shutdown = c.all.indexOf("* server shutting down");
    if (account) {
      registered++;
      t.true(heard !== -1, `r${i} was written, so r${i} heard it`);
      t.true(shutdown === -1 || heard < shutdown, `r${i}: registered before the shutdown line`);
    } else {
      t.is(heard, -1, `r${i} was not written, so never confirmed`);
    }
  }
  t.log(`BOUND shutdown: ${registered} of 12 registrations in flight at SIGTERM were written and confirmed`);
});
