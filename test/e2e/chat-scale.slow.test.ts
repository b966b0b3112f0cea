/**
 * The chat at scale: many registrations at once, a few thousand lines through three processes,
 * 20 MB towards a client that does not read. Long loads: `npm run test:slow`.
 */
import fs from "node:fs";
import path from "node:path";
import test from "ava";
import type { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, shape, UNLIMITED_CHAT, waitFor } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

test("chat at scale - 100 parallel registrations on separate connections lose none", async (t) => {
  const d = await useDaemon(t, [
    ...shape(2, 2),
    "--no-echo",
    "--max-per-address",
    "0",
    ...MANY_REGISTRATIONS,
  ]);
  const names = Array.from({ length: 100 }, (_, i) => `user${i}`);
  const clients = await Promise.all(names.map(() => d.client()));
  // Generous time: this is about losing nothing, not speed (100 scrypt hashes on 2 shared cores).
  const online = await Promise.all(clients.map((c, i) => c.register(names[i]!, `pw-${i}-secret`, 90_000)));
  t.true(online.every((line) => /^\* \d+ online: /.test(line)));
  const file = JSON.parse(fs.readFileSync(path.join(d.daemon.stateDir, "identities.json"), "utf8"));
  t.deepEqual(Object.keys(file.users).sort(), [...names].sort());
  t.is((await d.who()).length, 100);
});

/** The `<sN> mK` lines a client received. */
function messages(c: ChatClient): string[] {
  return c.all.split("\r\n").filter((l) => /^<s\d+> m\d+$/.test(l));
}

test("chat at scale - three senders on three processes, 500 lines each: every receiver gets each once, in order", async (t) => {
  const d = await useDaemon(t, [...shape(3, 1), ...UNLIMITED_CHAT]);
  // Sign in until three sessions sit on three different worker processes.
  const byWorker = new Map<number, { client: ChatClient; name: string }>();
  const receivers: ChatClient[] = [];
  for (let i = 0; i < 60 && byWorker.size < 3; i++) {
    const c = await d.user(`s${i}`);
    const worker = (await d.who()).find((u) => u.name === `s${i}`)!.worker;
    if (byWorker.has(worker)) receivers.push(c);
    else byWorker.set(worker, { client: c, name: `s${i}` });
  }
  t.is(byWorker.size, 3, "senders on three processes");
  // Each is in the roster once its online line has come: what is sent after reaches it.
  for (let i = 0; i < 4; i++) receivers.push(await d.user(`r${i}`));
  const senders = [...byWorker.values()].map((s) => s.client);
  const senderNames = [...byWorker.values()].map((s) => s.name);
  for (const s of senders) for (let n = 0; n < 500; n++) s.send(`m${n}`);
  const everyone = [...senders, ...receivers];
  await waitFor(
    () => everyone.every((c, i) => messages(c).length >= (i < 3 ? 1000 : 1500)),
    60_000,
    "every message at every receiver",
  );
  // A last line from each sender: whatever it sent before (a duplicate too) has arrived before it.
  for (const [i, s] of senders.entries()) s.send(`done ${i}`);
  const markers = (c: ChatClient) =>
    senderNames.flatMap((name, i) => (c === senders[i] ? [] : [`<${name}> done ${i}\r\n`]));
  await waitFor(
    () => everyone.every((c) => markers(c).every((m) => c.all.includes(m))),
    30_000,
    "each sender's last line everywhere",
  );
  for (const [i, c] of everyone.entries()) {
    const lines = messages(c);
    t.is(lines.length, i < 3 ? 1000 : 1500, "exactly once");
    for (const name of senderNames) {
      if (i < 3 && name === senderNames[i]) continue;
      const seq = lines.filter((l) => l.startsWith(`<${name}> `)).map((l) => Number(l.split(" m")[1]));
      t.deepEqual(
        seq,
        Array.from({ length: 500 }, (_, n) => n),
        `${name} in order at receiver ${i}`,
      );
    }
  }
});

test("chat at scale - a client that never reads is disconnected under 20 MB of traffic; the others keep receiving", async (t) => {
  const d = await useDaemon(t, [...shape(2, 1), ...UNLIMITED_CHAT]);
  const sender = await d.user("loud");
  const reader = await d.user("reader");
  const stuck = await d.user("stuck");
  stuck.socket.pause();
  const line = "x".repeat(4000);
  const total = 5000; // 20 MB
  for (let i = 0; i < total; i++) {
    // The sender's own socket says when to wait: the daemon reads as fast as it can pass lines on.
    if (!sender.socket.write(`${i} ${line}\r\n`)) await new Promise((r) => sender.socket.once("drain", r));
  }
  await waitFor(() => reader.all.includes(`<loud> ${total - 1} `), 120_000, "the reader to get everything");
  t.is(reader.all.split("\r\n").filter((l) => l.startsWith("<loud> ")).length, total);
  await waitFor(() => reader.all.includes("* stuck left"), 30_000, "the stuck client's departure");
  const file = path.join(d.daemon.logDir, "tsd.log");
  await waitFor(
    () => /output limit reached.*stuck|stuck.*output limit/.test(fs.readFileSync(file, "utf8")),
    15_000,
    "the disconnect and its reason in tsd.log",
  );
  t.pass();
});
