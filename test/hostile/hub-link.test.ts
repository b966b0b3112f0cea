import test from "ava";
import type { StatusResult } from "../../protocol/rpc.ts";
import { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, shape, spawnDaemon, startDaemon, waitFor } from "../helpers/daemon.ts";
import { callRpc } from "../helpers/rpc.ts";
import { type OnlineUser, useDaemon } from "../helpers/use-daemon.ts";

/** Chat only, flood control off, the per-address cap left on (its slots must not leak). */
const ATTACK = ["--no-echo", "--flood-rate", "0", ...MANY_REGISTRATIONS];

/** A line of `bytes` bytes of 0x80: each decodes to U+FFFD, three bytes once stored. */
function invalidLine(bytes: number): Buffer {
  return Buffer.concat([Buffer.alloc(bytes, 0x80), Buffer.from("\r\n")]);
}

async function greeted(port: number, count: number): Promise<ChatClient[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const c = await ChatClient.connect(port);
      await c.loginPrompt(20_000);
      return c;
    }),
  );
}

test("hub link - /history 500 over 360 lines of 4,096 invalid bytes is bounded; the thread goes on serving", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), ...ATTACK]);
  t.teardown(() => daemon.cleanup());
  const attacker = await ChatClient.connect(daemon.chatPort);
  await attacker.register("mallory", "secret1");
  for (let i = 0; i < 360; i++) attacker.write(invalidLine(4096));
  attacker.send("/who");
  await attacker.line(/^\* 1 online: mallory$/, 60_000);

  attacker.send("/history 500");
  const omitted = await attacker.line(/^\* \d+ older lines not shown/, 30_000);
  const before = attacker.bytes.length;
  await attacker.line("* end of history", 30_000);
  const answerBytes = attacker.bytes.length - before;
  t.log(`BOUND hub link: /history 500 of 360 x 12 KiB lines answered with ${answerBytes} bytes (${omitted})`);
  t.true(answerBytes <= 300 * 1024, "the answer is bounded");

  const fresh = await greeted(daemon.chatPort, 20);
  t.is(fresh.length, 20, "20 new connections greeted");
  attacker.send("/who");
  await attacker.line(/^\* 1 online: mallory$/, 20_000);
  for (const c of [...fresh, attacker]) c.close();
  t.notRegex(daemon.stdout(), /session thread died/);
});

test("hub link - with --max-line 131072 a sign-in replay of 20 long lines does not freeze the thread", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), ...ATTACK, "--max-line", "131072"]);
  t.teardown(() => daemon.cleanup());
  const attacker = await ChatClient.connect(daemon.chatPort);
  await attacker.register("mallory", "secret1");
  for (let i = 0; i < 20; i++) attacker.write(invalidLine(131_072));
  attacker.send("/who");
  await attacker.line(/^\* 1 online: mallory$/, 60_000);

  const newcomer = await ChatClient.connect(daemon.chatPort);
  await newcomer.register("alice", "secret1", 30_000);
  t.regex(newcomer.all, /\* \d+ older lines? not shown/, "the replay says what it left out");
  const fresh = await greeted(daemon.chatPort, 20);
  t.is(fresh.length, 20);
  newcomer.send("/who");
  await newcomer.line(/^\* 2 online: alice, mallory$/, 20_000);
  for (const c of [...fresh, attacker, newcomer]) c.close();
});

test("hub link - a session thread that stops answering is restarted; its users are announced left", async (t) => {
  const d = await useDaemon(t, [...shape(1, 2), ...ATTACK, "--debug-faults", "--thread-timeout", "6"]);
  const clients: ChatClient[] = [];
  let users: OnlineUser[] = [];
  // The kernel spreads connections over both threads; sign in until each holds a user.
  for (let i = 0; i < 40 && new Set(users.map((u) => u.thread)).size < 2; i++) {
    clients.push(await d.user(`u${i}`));
    users = await d.who();
  }
  const frozen = users.filter((u) => u.thread === 1).map((u) => u.name);
  const watcher = clients[Number(users.find((u) => u.thread === 2)!.name.slice(1))]!;
  t.true(frozen.length > 0, "a user on the thread to freeze");

  const freeze = await d.rpc("debug.crashThread", { worker: users[0]!.worker, thread: 1, mode: "freeze" });
  t.deepEqual(freeze, { crashing: true });
  const started = Date.now();
  await waitFor(() => frozen.every((n) => watcher.all.includes(`* ${n} left`)), 60_000, "left notices");
  t.log(
    `BOUND hub link: a frozen thread's users announced left after ${Date.now() - started} ms (timeout 6 s)`,
  );
  await d.until((s) => s.workers[0]?.threads === 2, "the thread back", 60_000);
  t.regex(d.daemon.stdout(), /session thread not answering its hub; restarting it/);
  const fresh = await greeted(d.daemon.chatPort, 20);
  t.is(fresh.length, 20, "new connections greeted on both threads");
  for (const c of fresh) c.close();
  // A line said now reaches the watcher after every notice the hub sent before it.
  const speaker = await d.user("speaker");
  speaker.send("sync");
  await watcher.line("<speaker> sync");
  for (const n of frozen) t.is(watcher.all.split(`* ${n} left`).length - 1, 1, `${n} announced once`);
});

test("hub link - every connection accepted on the port that status reports is greeted", async (t) => {
  const daemon = spawnDaemon([...shape(1, 2), "--no-echo", "--max-per-address", "0"]);
  t.teardown(() => daemon.cleanup());
  // As soon as status says the chat listener is listening, connect: nothing may be closed unanswered.
  // (The primary claims the port before the threads bind it, so the port is known a little earlier.)
  const port = await waitFor(
    async () => {
      const r = await callRpc(daemon.socket, "status").catch(() => null);
      const listener = (r?.result as StatusResult | undefined)?.listeners.find((l) => l.service === "chat");
      return listener?.listening && listener.port > 0 ? listener.port : null;
    },
    60_000,
    "a listening port in status",
  );
  const clients = await greeted(port, 30);
  t.is(clients.length, 30);
  for (const c of clients) c.close();
});
