import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient, sleep } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, startDaemon, waitFor, shape, UNLIMITED_CHAT } from "../helpers/daemon.ts";

test("chat at scale - 100 parallel registrations on separate connections lose none", async (t) => {
  const daemon = await startDaemon([
    ...shape(2, 2),
    "--no-echo",
    "--max-per-address",
    "0",
    ...MANY_REGISTRATIONS,
  ]);
  t.teardown(() => daemon.cleanup());
  const names = Array.from({ length: 100 }, (_, i) => `user${i}`);
  const clients = await Promise.all(names.map(() => ChatClient.connect(daemon.chatPort)));
  // Generous time: this is about losing nothing, not speed (100 scrypt hashes on 2 shared cores).
  const online = await Promise.all(clients.map((c, i) => c.register(names[i]!, `pw-${i}-secret`, 90_000)));
  t.true(online.every((line) => /^\* \d+ online: /.test(line)));
  const file = JSON.parse(fs.readFileSync(path.join(daemon.stateDir, "identities.json"), "utf8"));
  t.deepEqual(Object.keys(file.users).sort(), [...names].sort());
  const who = JSON.parse((await daemon.tsctl(["who", "--json"])).stdout) as { name: string }[];
  t.is(who.length, 100);
  for (const c of clients) c.close();
});

test("chat at scale - three senders on three processes, 500 lines each: every receiver gets each once, in order", async (t) => {
  const daemon = await startDaemon([...shape(3, 1), ...UNLIMITED_CHAT]);
  t.teardown(() => daemon.cleanup());
  // Sign in until three sessions sit on three different worker processes.
  const byWorker = new Map<number, { client: ChatClient; name: string }>();
  const receivers: ChatClient[] = [];
  for (let i = 0; i < 60 && byWorker.size < 3; i++) {
    const c = await ChatClient.connect(daemon.chatPort);
    await c.register(`s${i}`, "secret1");
    const users = JSON.parse((await daemon.tsctl(["who", "--json"])).stdout) as {
      name: string;
      worker: number;
    }[];
    const worker = users.find((u) => u.name === `s${i}`)!.worker;
    if (byWorker.has(worker)) receivers.push(c);
    else byWorker.set(worker, { client: c, name: `s${i}` });
  }
  t.is(byWorker.size, 3, "senders on three processes");
  for (let i = 0; i < 4; i++) {
    const c = await ChatClient.connect(daemon.chatPort);
    await c.register(`r${i}`, "secret1");
    receivers.push(c);
  }
  await sleep(300);
  const senders = [...byWorker.values()].map((s) => s.client);
  const senderNames = [...byWorker.values()].map((s) => s.name);
  for (const s of senders) for (let n = 0; n < 500; n++) s.send(`m${n}`);
  const everyone = [...senders, ...receivers];
  await waitFor(
    () => everyone.every((c, i) => countMessages(c) >= (i < 3 ? 1000 : 1500)),
    30_000,
    "every message at every receiver",
  );
  await sleep(300);
  for (const [i, c] of everyone.entries()) {
    const lines = c.all.split("\r\n").filter((l) => /^<s\d+> m\d+$/.test(l));
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
  for (const c of everyone) c.close();
});

function countMessages(c: ChatClient): number {
  return c.all.split("\r\n").filter((l) => /^<s\d+> m\d+$/.test(l)).length;
}

test("chat at scale - a client that never reads is disconnected under 20 MB of traffic; the others keep receiving", async (t) => {
  const daemon = await startDaemon([...shape(2, 1), ...UNLIMITED_CHAT]);
  t.teardown(() => daemon.cleanup());
  const sender = await ChatClient.connect(daemon.chatPort);
  await sender.register("loud", "secret1");
  const reader = await ChatClient.connect(daemon.chatPort);
  await reader.register("reader", "secret1");
  const stuck = await ChatClient.connect(daemon.chatPort);
  await stuck.register("stuck", "secret1");
  stuck.socket.pause();
  const line = "x".repeat(4000);
  const total = 5000; // 20 MB
  for (let i = 0; i < total; i++) {
    sender.send(`${i} ${line}`);
    if (i % 200 === 0) await sleep(5);
  }
  await waitFor(() => reader.all.includes(`<loud> ${total - 1} `), 60_000, "the reader to get everything");
  t.is(reader.all.split("\r\n").filter((l) => l.startsWith("<loud> ")).length, total);
  await waitFor(() => reader.all.includes("* stuck left"), 10_000, "the stuck client's departure");
  const log = fs.readFileSync(path.join(daemon.logDir, "tsd.log"), "utf8");
  t.regex(log, /output limit reached.*stuck|stuck.*output limit/);
  for (const c of [sender, reader, stuck]) c.close();
});

test("chat at scale - a restart keeps history and accounts", async (t) => {
  const first = await startDaemon([...shape(1, 2), "--no-echo"]);
  const a = await ChatClient.connect(first.chatPort);
  t.is(await a.loginPrompt(), undefined);
  a.send("");
  await a.loginPrompt();
  a.send("Ольга");
  await a.prompt("new password: ");
  a.send("пароль123");
  await a.prompt("repeat password: ");
  a.send("пароль123");
  await a.line(/online/);
  a.send("сохрани это");
  await sleep(300);
  a.close();
  t.is((await first.tsctl(["stop"])).code, 0);
  await first.exited;

  const second = await startDaemon([...shape(1, 2), "--no-echo"], { dir: first.dir });
  t.teardown(() => second.cleanup());
  const b = await ChatClient.connect(second.chatPort);
  t.is(await b.loginPrompt(), "Ольга");
  b.send("ольга");
  await b.prompt("password: ");
  b.send("пароль123");
  t.is(await b.line(/welcome/), "* welcome back, Ольга");
  t.regex(await b.next(), /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] <Ольга> сохрани это$/);
  t.is(await b.next(), "* 1 online: Ольга");
  b.close();
});

test("chat limits - a connection that does not sign in is closed after the login timeout", async (t) => {
  const daemon = await startDaemon([...shape(2, 1), "--login-timeout", "1"]);
  t.teardown(() => daemon.cleanup());
  const idle = await ChatClient.connect(daemon.chatPort);
  await idle.closedByServer(30_000);
  t.regex(idle.all, /timed out/);
});

test("chat limits - the per-address cap refuses one over it and frees slots as connections close", async (t) => {
  const daemon = await startDaemon([...shape(2, 1), "--max-per-address", "2"]);
  t.teardown(() => daemon.cleanup());
  const first = await ChatClient.connect(daemon.chatPort);
  const second = await ChatClient.connect(daemon.chatPort);
  await Promise.all([first.loginPrompt(), second.loginPrompt()]);
  const third = await ChatClient.connect(daemon.chatPort);
  t.is(await third.next(), "! too many connections from your address");
  await third.closedByServer();
  second.close();
  // The slot is released when the server sees the close; until then a new connection is refused.
  const again = await waitFor(
    async () => {
      const c = await ChatClient.connect(daemon.chatPort);
      const line = await c.next();
      if (line.startsWith("* ")) return c;
      c.close();
      return null;
    },
    30_000,
    "a slot released by a closed connection",
  );
  t.truthy(again);
  again.close();
  first.close();
});

test("chat faults - users on a killed worker are announced as left exactly once", async (t) => {
  const daemon = await startDaemon([
    ...shape(2, 1),
    "--no-echo",
    "--max-per-address",
    "0",
    ...MANY_REGISTRATIONS,
  ]);
  t.teardown(() => daemon.cleanup());
  const clients: ChatClient[] = [];
  let users: { name: string; worker: number }[] = [];
  // Sign in until both workers hold at least two users (the kernel spreads connections by hash).
  for (let i = 0; i < 40; i++) {
    const c = await ChatClient.connect(daemon.chatPort);
    await c.register(`k${i}`, "secret1");
    clients.push(c);
    users = JSON.parse((await daemon.tsctl(["who", "--json"])).stdout) as { name: string; worker: number }[];
    const counts = new Map<number, number>();
    for (const u of users) counts.set(u.worker, (counts.get(u.worker) ?? 0) + 1);
    if (i >= 7 && counts.size === 2 && [...counts.values()].every((n) => n >= 2)) break;
  }
  const status = JSON.parse((await daemon.tsctl(["status", "--json"])).stdout) as {
    workers: { id: number; pid: number }[];
  };
  const victim = status.workers.find((w) => users.some((u) => u.worker === w.id))!;
  const lost = users.filter((u) => u.worker === victim.id).map((u) => u.name);
  const survivors = clients.filter((_, i) => !lost.includes(`k${i}`));
  t.true(lost.length > 0 && survivors.length > 0);
  process.kill(victim.pid, "SIGKILL");
  await waitFor(
    () => survivors.every((c) => lost.every((n) => c.all.includes(`* ${n} left`))),
    20_000,
    "left notices",
  );
  await sleep(500);
  for (const c of survivors) {
    for (const n of lost) t.is(c.all.split("\r\n").filter((l) => l === `* ${n} left`).length, 1);
  }
  for (const c of clients) c.close();
});
