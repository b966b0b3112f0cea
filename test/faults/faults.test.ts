import fs from "node:fs";
import path from "node:path";
import test from "ava";
import type { StatusResult } from "../../protocol/rpc.ts";
import { ChatClient, sleep } from "../helpers/chat-client.ts";
import { startDaemon, tempDir, waitFor, shape, UNLIMITED_CHAT } from "../helpers/daemon.ts";
import { callRpc } from "../helpers/rpc.ts";

interface Who {
  name: string;
  worker: number;
  thread: number;
}

async function who(d: { tsctl: (a: string[]) => Promise<{ stdout: string }> }): Promise<Who[]> {
  return JSON.parse((await d.tsctl(["who", "--json"])).stdout) as Who[];
}

function received(c: ChatClient, from: string): number[] {
  return c.all
    .split("\r\n")
    .filter((l) => l.startsWith(`<${from}> n`))
    .map((l) => Number(l.slice(from.length + 4)));
}

test("faults - kill -9 of a worker under traffic: survivors lose nothing, its users reconnect at once", async (t) => {
  const daemon = await startDaemon([...shape(2, 1), ...UNLIMITED_CHAT]);
  t.teardown(() => daemon.cleanup());
  const clients = new Map<string, ChatClient>();
  for (let i = 0; i < 10; i++) {
    const c = await ChatClient.connect(daemon.chatPort);
    await c.register(`f${i}`, "secret1");
    clients.set(`f${i}`, c);
  }
  const users = await who(daemon);
  const workers = [...new Set(users.map((u) => u.worker))];
  t.is(workers.length, 2, "users on both workers");
  const status = JSON.parse((await daemon.tsctl(["status", "--json"])).stdout) as StatusResult;
  const victim = status.workers.find((w) => w.id === workers[0])!;
  const doomed = users.filter((u) => u.worker === victim.id).map((u) => u.name);
  const alive = users.filter((u) => u.worker !== victim.id).map((u) => u.name);

  // Survivors keep talking while the worker dies.
  const sender = alive[0]!;
  let sent = 0;
  const talking = (async () => {
    for (; sent < 300; sent++) {
      clients.get(sender)!.send(`n${sent}`);
      if (sent % 20 === 0) await sleep(10);
    }
  })();
  await sleep(30);
  process.kill(victim.pid, "SIGKILL");
  await talking;

  // Its users come back at once, to whichever worker the kernel picks.
  const started = Date.now();
  const back = await Promise.all(
    doomed.map(async (name) => {
      const c = await ChatClient.connect(daemon.chatPort);
      return c.signIn(name, "secret1").then(() => c);
    }),
  );
  const reconnectMs = Date.now() - started;
  t.log(
    `BOUND faults: reconnect of ${doomed.length} users after kill -9 of their worker = ${reconnectMs} ms`,
  );

  for (const name of alive.slice(1)) {
    const c = clients.get(name)!;
    await waitFor(() => received(c, sender).length >= 300, 15_000, `all 300 lines at ${name}`);
    t.deepEqual(
      received(c, sender),
      Array.from({ length: 300 }, (_, i) => i),
      `${name}: every line once, in order`,
    );
  }
  const replaced = await waitFor(
    async () => {
      const s = JSON.parse((await daemon.tsctl(["status", "--json"])).stdout) as StatusResult;
      return s.workers.length === 2 && s.workers.every((w) => w.pid !== victim.pid && w.threads === 1)
        ? s
        : null;
    },
    10_000,
    "the replacement worker",
  );
  t.is(replaced.workers.length, 2);
  for (const c of [...clients.values(), ...back]) c.close();
});

test("faults - a session thread that crashes is restarted; the others never notice", async (t) => {
  const daemon = await startDaemon([...shape(1, 2), "--no-echo", "--max-per-address", "0", "--debug-faults"]);
  t.teardown(() => daemon.cleanup());
  const clients: ChatClient[] = [];
  for (let i = 0; i < 12; i++) {
    const c = await ChatClient.connect(daemon.chatPort);
    await c.register(`c${i}`, "secret1");
    clients.push(c);
  }
  const users = await who(daemon);
  const onOne = users.filter((u) => u.thread === 1).map((u) => u.name);
  const onTwo = users.filter((u) => u.thread === 2).map((u) => u.name);
  t.true(onOne.length > 0 && onTwo.length > 1, "users on both threads");
  const crash = await callRpc(daemon.socket, "debug.crashThread", { worker: users[0]!.worker, thread: 1 });
  t.deepEqual(crash.result, { crashing: true });
  const byName = (name: string) => clients[Number(name.slice(1))]!;
  const watcher = byName(onTwo[0]!);
  // Users of the crashed thread are gone, announced once; the other thread's users chat on.
  await waitFor(() => onOne.every((n) => watcher.all.includes(`* ${n} left`)), 10_000, "left notices");
  const speaker = byName(onTwo[1]!);
  speaker.send("still here");
  await waitFor(() => watcher.all.includes(`<${onTwo[1]}> still here`), 5000, "chat on the healthy thread");
  await waitFor(
    async () => {
      const s = JSON.parse((await daemon.tsctl(["status", "--json"])).stdout) as StatusResult;
      return s.workers[0]?.threads === 2;
    },
    10_000,
    "the thread back",
  );
  t.regex(daemon.stdout(), /session thread died; restarting/);
  const again = await ChatClient.connect(daemon.chatPort);
  await again.signIn(onOne[0]!, "secret1");
  for (const c of [...clients, again]) c.close();
});

test("faults - kill -9 of the primary mid-write, 8 times: both files load; only the tail in flight is lost", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const confirmed = new Set<string>();
  let next = 0;
  const roundStarts: number[] = [];
  for (let round = 0; round < 8; round++) {
    const daemon = await startDaemon(
      ["--workers", "1", "--threads", "1", "--no-echo", "--max-per-address", "0", "--flood-rate", "0"],
      { dir },
    );
    const writer = await ChatClient.connect(daemon.chatPort);
    await writer.register(`w${round}`, "secret1");
    confirmed.add(`w${round}`);
    // History writes: a stream of numbered lines. Identity writes: registrations racing the kill.
    const registering = (async () => {
      for (let i = 0; i < 5; i++) {
        const c = await ChatClient.connect(daemon.chatPort).catch(() => null);
        if (!c) return;
        const name = `r${round}x${i}`;
        const ok = await c.register(name, "secret1", 3000).then(
          () => true,
          () => false,
        );
        if (ok) confirmed.add(name);
        c.close();
      }
    })();
    roundStarts.push(next);
    let writing = true;
    const streaming = (async () => {
      while (writing && !writer.closed) {
        for (let i = 0; i < 20; i++) writer.send(`n${next++}`);
        await sleep(2);
      }
    })();
    await sleep(100 + round * 40);
    daemon.proc.kill("SIGKILL");
    await daemon.exited;
    writing = false;
    await streaming;
    await registering;
    writer.close();
  }
  const final = await startDaemon([...shape(1, 1), "--no-echo"], { dir });
  t.teardown(() => final.cleanup());
  const identities = JSON.parse(fs.readFileSync(path.join(final.stateDir, "identities.json"), "utf8"));
  for (const name of confirmed)
    t.truthy(identities.users[name], `${name} registered before the kill survives`);
  const lines = fs
    .readFileSync(path.join(final.stateDir, "history.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean);
  const numbers: number[] = [];
  let torn = 0;
  for (const line of lines) {
    try {
      numbers.push(Number((JSON.parse(line) as { x: string }).x.slice(1)));
    } catch {
      torn++;
    }
  }
  t.true(torn <= 8, `at most one torn record per kill (${torn})`);
  // Each round's kept lines are a prefix of what it sent: only the tail in flight at the kill is lost.
  for (const [round, start] of roundStarts.entries()) {
    const end = roundStarts[round + 1] ?? next;
    const kept = numbers.filter((n) => n >= start && n < end);
    t.deepEqual(
      kept,
      Array.from({ length: kept.length }, (_, i) => start + i),
      `round ${round}: no holes`,
    );
  }
  t.log(
    `BOUND faults: primary kill -9 x8: history records kept = ${numbers.length} of ${next}, torn = ${torn}`,
  );
  t.true(numbers.length > 0);
});
