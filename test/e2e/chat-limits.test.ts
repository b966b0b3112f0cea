import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, shape, startDaemon, waitFor } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

test("chat - a restart keeps history and accounts", async (t) => {
  const first = await startDaemon([...shape(1, 2), "--no-echo"]);
  const a = await ChatClient.connect(first.chatPort);
  t.is(await a.loginPrompt(), undefined);
  a.send("");
  await a.typeRegistration("Ольга", "пароль123");
  await a.line(/online/);
  a.send("сохрани это");
  // The hub answers /history after the line sent before it: then the line is in the history.
  a.send("/history 1");
  await a.line(/\] <Ольга> сохрани это$/);
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
  const d = await useDaemon(t, [
    ...shape(2, 1),
    "--no-echo",
    "--max-per-address",
    "0",
    ...MANY_REGISTRATIONS,
  ]);
  const clients: ChatClient[] = [];
  let users: { name: string; worker: number }[] = [];
  // Sign in until both workers hold at least two users (the kernel spreads connections by hash).
  for (let i = 0; i < 40; i++) {
    clients.push(await d.user(`k${i}`));
    users = await d.who();
    const counts = new Map<number, number>();
    for (const u of users) counts.set(u.worker, (counts.get(u.worker) ?? 0) + 1);
    if (i >= 7 && counts.size === 2 && [...counts.values()].every((n) => n >= 2)) break;
  }
  const status = await d.status();
  const victim = status.workers.find((w) => users.some((u) => u.worker === w.id))!;
  const lost = users.filter((u) => u.worker === victim.id).map((u) => u.name);
  const survivors = clients.filter((_, i) => !lost.includes(`k${i}`));
  t.true(lost.length > 0 && survivors.length > 1);
  process.kill(victim.pid, "SIGKILL");
  await waitFor(
    () => survivors.every((c) => lost.every((n) => c.all.includes(`* ${n} left`))),
    30_000,
    "left notices",
  );
  // Everything the death sets off is over once the replacement runs; a line sent after that
  // reaches each survivor after any notice the hub sent before it.
  await d.until(
    (s) => s.workers.length === 2 && s.workers.every((w) => w.pid !== victim.pid && w.threads === 1),
    "the replacement worker",
  );
  const name = (c: ChatClient) => `k${clients.indexOf(c)}`;
  const [first, second] = survivors as [ChatClient, ChatClient];
  first.send("after");
  second.send("after");
  for (const c of survivors) await c.line(`<${name(c === first ? second : first)}> after`);
  for (const c of survivors) {
    for (const n of lost) t.is(c.all.split("\r\n").filter((l) => l === `* ${n} left`).length, 1);
  }
});
