import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { shape, startDaemon, tempDir, UNLIMITED_CHAT, waitFor } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

function received(c: ChatClient, from: string): number[] {
  return c.all
    .split("\r\n")
    .filter((l) => l.startsWith(`<${from}> n`))
    .map((l) => Number(l.slice(from.length + 4)));
}

test("faults - kill -9 of a worker under traffic: survivors lose nothing, its users reconnect at once", async (t) => {
  const d = await useDaemon(t, [...shape(2, 1), ...UNLIMITED_CHAT]);
  const clients = new Map<string, ChatClient>();
  for (let i = 0; i < 10; i++) clients.set(`f${i}`, await d.user(`f${i}`));
  const users = await d.who();
  const workers = [...new Set(users.map((u) => u.worker))];
  t.is(workers.length, 2, "users on both workers");
  const victim = (await d.status()).workers.find((w) => w.id === workers[0])!;
  const doomed = users.filter((u) => u.worker === victim.id).map((u) => u.name);
  const alive = users.filter((u) => u.worker !== victim.id).map((u) => u.name);

  // Survivors keep talking while the worker dies: 300 lines in batches of 20, each batch sent
  // once a survivor has the one before (or at once with nobody to listen), the kill after the fifth.
  const sender = alive[0]!;
  const listener = alive[1] === undefined ? null : clients.get(alive[1])!;
  for (let sent = 0; sent < 300; ) {
    for (const end = sent + 20; sent < end; sent++) clients.get(sender)!.send(`n${sent}`);
    if (sent === 100) process.kill(victim.pid, "SIGKILL");
    if (listener) await waitFor(() => received(listener, sender).length >= sent, 15_000, `n${sent - 1}`);
  }

  // Its users come back at once, to whichever worker the kernel picks.
  const started = Date.now();
  const back = await Promise.all(
    doomed.map(async (name) => {
      const c = await d.client();
      return c.signIn(name, "secret1").then(() => c);
    }),
  );
  const reconnectMs = Date.now() - started;
  t.log(
    `BOUND faults: reconnect of ${doomed.length} users after kill -9 of their worker = ${reconnectMs} ms`,
  );
  t.is(back.length, doomed.length);

  for (const name of alive.slice(1)) {
    const c = clients.get(name)!;
    await waitFor(() => received(c, sender).length >= 300, 15_000, `all 300 lines at ${name}`);
    t.deepEqual(
      received(c, sender),
      Array.from({ length: 300 }, (_, i) => i),
      `${name}: every line once, in order`,
    );
  }
  const replaced = await d.until(
    (s) => s.workers.length === 2 && s.workers.every((w) => w.pid !== victim.pid && w.threads === 1),
    "the replacement worker",
  );
  t.is(replaced.workers.length, 2);
});

test("faults - a session thread that crashes is restarted; the others never notice", async (t) => {
  const d = await useDaemon(t, [...shape(1, 2), "--no-echo", "--max-per-address", "0", "--debug-faults"]);
  const clients: ChatClient[] = [];
  for (let i = 0; i < 12; i++) clients.push(await d.user(`c${i}`));
  const users = await d.who();
  const onOne = users.filter((u) => u.thread === 1).map((u) => u.name);
  const onTwo = users.filter((u) => u.thread === 2).map((u) => u.name);
  t.true(onOne.length > 0 && onTwo.length > 1, "users on both threads");
  const crash = await d.rpc("debug.crashThread", { worker: users[0]!.worker, thread: 1 });
  t.deepEqual(crash, { crashing: true });
  const byName = (name: string) => clients[Number(name.slice(1))]!;
  const watcher = byName(onTwo[0]!);
  // Users of the crashed thread are gone, announced once; the other thread's users chat on.
  await waitFor(() => onOne.every((n) => watcher.all.includes(`* ${n} left`)), 15_000, "left notices");
  const speaker = byName(onTwo[1]!);
  speaker.send("still here");
  await waitFor(() => watcher.all.includes(`<${onTwo[1]}> still here`), 15_000, "chat on the healthy thread");
  await d.until((s) => s.workers[0]?.threads === 2, "the thread back");
  t.regex(d.daemon.stdout(), /session thread died; restarting/);
  const again = await d.client();
  await again.signIn(onOne[0]!, "secret1");
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
    const reader = await ChatClient.connect(daemon.chatPort);
    await reader.register(`v${round}`, "secret1");
    confirmed.add(`v${round}`);
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
    // Batches of 20 lines, each sent once a reader has the one before; the kill lands with a
    // batch in flight, later in each round (by count, so a busy machine moves it no more).
    const killAt = next + 100 + round * 60;
    for (;;) {
      for (let i = 0; i < 20; i++) writer.send(`n${next++}`);
      if (next >= killAt) break;
      await reader.line(`<w${round}> n${next - 1}`);
    }
    daemon.proc.kill("SIGKILL");
    await daemon.exited;
    await registering;
    writer.close();
    reader.close();
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
