import net from "node:net";
import test from "ava";
import type { MetricsResult } from "../../protocol/rpc.ts";
import type { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, shape, spawnDaemon, UNLIMITED_CHAT, waitFor } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

// Two threads, so the sender and the receivers are spread over both and every count crosses the hub.
const d = useDaemon(test, [...shape(1, 2), ...UNLIMITED_CHAT, "--metrics-port", "0"]);

const metrics = () => d.rpc<MetricsResult>("metrics");

/** The port of GET /metrics, from the ready line. */
function metricsPort(): number {
  const port = /metrics=[^ ]*:(\d+)/.exec(d.daemon.stdout())?.[1];
  if (!port) throw new Error(`no metrics= in the ready line: ${d.daemon.stdout()}`);
  return Number(port);
}

type Counter = Exclude<keyof MetricsResult, "connections" | "usersOnline" | "threads">;

function delta(after: MetricsResult, before: MetricsResult, key: Counter): number {
  return after[key] - before[key];
}

/** A Prometheus text exposition read strictly: every line a HELP, a TYPE or a sample of a family typed before it. */
function parseExposition(text: string): Map<string, { labels: string; value: number }[]> {
  const types = new Map<string, string>();
  const samples = new Map<string, { labels: string; value: number }[]>();
  if (!text.endsWith("\n")) throw new Error("the exposition does not end with a line feed");
  for (const line of text.slice(0, -1).split("\n")) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$/.exec(line);
    if (help) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a line of the exposition format: ${JSON.stringify(line)}`);
    const [, name, labels = "", raw] = sample;
    if (!types.has(name!)) throw new Error(`${name} has no TYPE line before its samples`);
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new Error(`${name}: ${raw} is not a number`);
    samples.set(name!, [...(samples.get(name!) ?? []), { labels, value }]);
  }
  for (const [name, type] of types) if (type === "counter" && !name.endsWith("_total")) throw new Error(name);
  return samples;
}

/** Registers users, each waiting until every earlier one has seen it join, so no join line is still on its way. */
async function signedInUsers(names: string[]): Promise<ChatClient[]> {
  const users: ChatClient[] = [];
  for (const name of names) {
    const user = await d.user(name);
    for (const earlier of users) await earlier.announced(name, "joined");
    users.push(user);
  }
  return users;
}

test.serial(
  "metrics - N lines to M others read exactly +N in, +N*M out, and the bytes each way",
  async (t) => {
    const [sender, ...receivers] = await signedInUsers(["amy", "bert", "cleo", "dave"]);
    const M = receivers.length;
    const N = 40;
    const received = receivers.map((r) => r!.bytes.length);
    const before = await metrics();

    let sent = 0;
    for (let i = 0; i < N; i++) {
      const line = `line ${i} of the count`;
      sender!.send(line);
      sent += Buffer.byteLength(`${line}\r\n`);
    }
    for (const r of receivers) await r!.line(`<amy> line ${N - 1} of the count`);
    const after = await metrics();

    t.is(delta(after, before, "messagesIn"), N);
    t.is(delta(after, before, "messagesOut"), N * M);
    t.is(delta(after, before, "bytesIn"), sent, "bytes in: exactly what the sender wrote");
    const got = receivers.reduce((sum, r, i) => sum + r!.bytes.length - received[i]!, 0);
    t.is(delta(after, before, "bytesOut"), got, "bytes out: exactly what the receivers read");
    t.is(after.usersOnline, M + 1);
    t.is(after.connections.chat, M + 1);
    t.is(new Set(after.threads!.map((th) => `${th.worker}.${th.thread}`)).size, 2, "one entry per thread");
    t.is(
      after.threads!.reduce((sum, th) => sum + th.sessions, 0),
      M + 1,
    );
    for (const th of after.threads!) {
      for (const lag of [th.lagP50Ms, th.lagP99Ms, th.lagMaxMs])
        t.true(Number.isFinite(lag) && lag >= 0, `lag of thread ${th.thread}: ${lag}`);
    }
  },
);

test.serial(
  "metrics - /me and /msg count in and out; sign-ins, failures, registrations and kicks exactly",
  async (t) => {
    const [ed, fay] = await signedInUsers(["ed", "fay"]);
    const before = await metrics();

    ed!.send("/me waves");
    await fay!.line("* ed waves");
    ed!.send("/msg fay psst");
    await fay!.line(/^\*ed\* psst/);

    // Two wrong passwords, then the right one; then one new account.
    const again = await d.client();
    await again.loginPrompt();
    again.send("fay");
    await again.prompt("password: ");
    again.send("wrong-1");
    await again.line("! wrong password");
    await again.loginPrompt();
    again.send("fay");
    await again.prompt("password: ");
    again.send("wrong-2");
    await again.line("! wrong password");
    await again.loginPrompt();
    again.send("fay");
    await again.prompt("password: ");
    again.send("secret1");
    await again.line(/^\* \d+ online: /);
    await fay!.closedByServer();
    const gus = await d.user("gus");
    await ed!.announced("gus", "joined");

    const kicked = await d.daemon.tsctl(["kick", "gus"]);
    t.is(kicked.code, 0, kicked.stderr);
    await gus.closedByServer();
    await ed!.announced("gus", "left");
    await again.announced("gus", "left");
    const after = await metrics();

    t.is(delta(after, before, "signInFailures"), 2);
    t.is(delta(after, before, "signIns"), 2, "fay again, and gus");
    t.is(delta(after, before, "registrations"), 1);
    t.is(delta(after, before, "kicks"), 1);
    t.is(delta(after, before, "messagesIn"), 2, "the /me and the /msg");
    // fay: the action and the private line; ed and fay's new session: gus joined, gus left (a takeover is told to nobody).
    t.is(delta(after, before, "messagesOut"), 6);
    t.is(delta(after, before, "floodDrops"), 0);
    t.is(delta(after, before, "outputLimitDisconnects"), 0);
  },
);

test.serial(
  "metrics - GET /metrics: the Prometheus text format, the same counters, per-thread lag",
  async (t) => {
    const url = `http://127.0.0.1:${metricsPort()}`;
    const response = await fetch(`${url}/metrics`);
    t.is(response.status, 200);
    t.regex(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(await response.text());
    const now = await metrics();
    const value = (name: string, labels = "") => samples.get(name)?.find((s) => s.labels === labels)?.value;
    t.is(value("tsd_messages_in_total"), now.messagesIn);
    t.is(value("tsd_messages_out_total"), now.messagesOut);
    t.is(value("tsd_bytes_in_total"), now.bytesIn);
    t.is(value("tsd_bytes_out_total"), now.bytesOut);
    t.is(value("tsd_sign_ins_total"), now.signIns);
    t.is(value("tsd_sign_in_failures_total"), now.signInFailures);
    t.is(value("tsd_registrations_total"), now.registrations);
    t.is(value("tsd_kicks_total"), now.kicks);
    t.is(value("tsd_flood_drops_total"), now.floodDrops);
    t.is(value("tsd_output_limit_disconnects_total"), now.outputLimitDisconnects);
    t.is(value("tsd_users_online"), now.usersOnline);
    t.is(value("tsd_connections", '{service="chat"}'), now.connections.chat);
    const worker = (await d.status()).workers[0]!.id;
    t.is(value("tsd_worker_sessions", `{worker="${worker}"}`), now.connections.chat);
    for (const { thread } of now.threads!) {
      const labels = `{worker="${worker}",thread="${thread}"}`;
      t.is(typeof value("tsd_thread_sessions", labels), "number");
      for (const name of ["p50", "p99", "max"]) {
        const lag = value(`tsd_event_loop_lag_${name}_seconds`, labels);
        t.true(typeof lag === "number" && lag >= 0 && lag < 60, `${name} lag of thread ${thread}: ${lag}`);
      }
    }

    t.is((await fetch(`${url}/`)).status, 404);
    t.is((await fetch(`${url}/metrics/x`)).status, 404);
    const post = await fetch(`${url}/metrics`, { method: "POST", body: "x".repeat(100_000) });
    t.is(post.status, 405);
  },
);

test.serial(
  "metrics - GET /metrics: a client that never finishes its request is cut off, and others are answered meanwhile",
  async (t) => {
    const port = metricsPort();
    const slow = net.connect(port, "127.0.0.1");
    const closed = new Promise<number>((resolve) => slow.once("close", () => resolve(Date.now())));
    slow.on("error", () => {});
    await new Promise((resolve) => slow.once("connect", resolve));
    const opened = Date.now();
    slow.write("GET /metrics HTTP/1.1\r\nHost: x\r\n");
    t.is((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200, "answered while the slow one waits");
    const at = await closed;
    t.true(at - opened < 20_000, `cut off after ${at - opened} ms`);
  },
);

test("metrics - a --metrics-port already in use: exit 1 naming the port", async (t) => {
  const taken = metricsPort();
  const second = spawnDaemon(["--no-echo", "--metrics-port", String(taken)]);
  t.teardown(() => second.cleanup());
  const outcome = await second.started;
  t.false(outcome.ready);
  if (outcome.ready) return;
  t.is(outcome.code, 1);
  t.regex(second.stderr(), new RegExp(`metrics port ${taken}\\b.*in use`));
});

test("metrics - a crashed thread's counts stay; a frozen thread does not hold the answer (its last report counts)", async (t) => {
  // A short --thread-timeout: the frozen thread is restarted soon, so the daemon stops at once at the end.
  const own = await useDaemon(t, [
    ...shape(1, 2),
    ...UNLIMITED_CHAT,
    "--debug-faults",
    "--thread-timeout",
    "2",
  ]);
  const call = () => own.rpc<MetricsResult>("metrics");
  // Users until both threads hold one: a sender on the thread that will crash, a receiver on the other.
  const users = new Map<number, { name: string; client: ChatClient }>();
  for (let i = 0; users.size < 2 && i < 20; i++) {
    const name = `u${i}`;
    const client = await own.user(name);
    const { thread } = (await own.who()).find((u) => u.name === name)!;
    if (users.has(thread)) client.close();
    else users.set(thread, { name, client });
  }
  t.is(users.size, 2, "a user on each thread");
  const [[crashing, sender], [surviving, receiver]] = [...users];
  await own.until((s) => s.usersOnline === 2, "the extra users gone");
  const before = await call();
  for (let i = 0; i < 10; i++) sender!.client.send(`counted ${i}`);
  await receiver!.client.line(`<${sender!.name}> counted 9`);
  const counted = await call();
  t.is(counted.messagesIn - before.messagesIn, 10);

  const worker = (await own.status()).workers[0]!.id;
  await own.rpc("debug.crashThread", { worker, thread: crashing, mode: "throw" });
  await sender!.client.closedByServer();
  const afterCrash = await call();
  t.is(afterCrash.messagesIn, counted.messagesIn, "the crashed thread's lines are still counted");
  t.true(afterCrash.messagesOut >= counted.messagesOut, "no counter goes down");
  t.true(afterCrash.signIns >= counted.signIns);

  await own.rpc("debug.crashThread", { worker, thread: surviving, mode: "freeze" });
  const asked = Date.now();
  const frozen = await call();
  t.true(Date.now() - asked < 10_000, `answered in ${Date.now() - asked} ms despite a frozen thread`);
  t.is(frozen.messagesIn, counted.messagesIn, "the frozen thread counts with its last report");
});

test("metrics - lines dropped by flood control are counted as the user is told", async (t) => {
  const own = await useDaemon(t, [
    ...shape(1, 1),
    ...MANY_REGISTRATIONS,
    "--no-echo",
    "--flood-burst",
    "1",
    "--flood-rate",
    "1",
    "--flood-queue",
    "2",
  ]);
  const call = () => own.rpc<MetricsResult>("metrics");
  const sender = await own.user("hal");
  const receiver = await own.user("ida");
  await sender.announced("ida", "joined");
  const before = await call();
  const sent = 12;
  sender.write(Array.from({ length: sent }, (_, i) => `burst ${i}\r\n`).join(""));
  // Every line either arrives or is reported dropped ("! slow down (N lines dropped)").
  const reported = () =>
    [...sender.all.matchAll(/! slow down \((\d+) lines? dropped\)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const arrived = () => receiver.all.match(/<hal> burst \d+/g)?.length ?? 0;
  await waitFor(() => reported() + arrived() === sent, 20_000, "every line delivered or reported dropped");
  const after = await call();
  t.true(reported() > 0, "some lines were dropped");
  t.is(after.floodDrops - before.floodDrops, reported());
  t.is(after.messagesIn - before.messagesIn, arrived());
});
