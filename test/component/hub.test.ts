/**
 * The hub server with real hub links, in one process: what the primary's hub does with what
 * session threads send it over their Unix sockets, seen from both ends.
 */
import net from "node:net";
import test from "ava";
import {
  chatLine,
  joinedLine,
  kickedLine,
  leftLine,
  onlineLine,
  SIGNED_IN_ELSEWHERE,
} from "../../protocol/chat-lines.ts";
import { hubLineLimit, type JoinReply, type MsgReply } from "../../protocol/hub-messages.ts";
import { nameKey } from "../../protocol/names.ts";
import { TestHub, ThreadEnd } from "./harness.ts";

/** Joins a session to the hub through end's link; resolves with the hub's reply. */
function join(end: ThreadEnd, sid: string, name: string, address = "127.0.0.1"): Promise<JoinReply> {
  return end.link.request({ k: "join", sid, key: nameKey(name), name, address }) as Promise<JoinReply>;
}

test("hub - hello gets the welcome the primary gives; stats and listening reach the primary's view of the thread", async (t) => {
  const hub = await TestHub.start(t, { welcome: { paused: false, ports: { chat: 4321 } } });
  const end = await ThreadEnd.connect(t, hub, 2, 3);
  t.like(end.all("welcome")[0], { paused: false, ports: { chat: 4321 } });
  const link = await hub.linkOf(2, 3);
  end.link.send({ k: "stats", chat: 5, echo: 1 });
  end.link.send({ k: "listening", service: "chat", port: 4321, ok: true });
  await hub.until(() => (hub.listening.length > 0 ? true : undefined), "the listening report");
  t.deepEqual(link.sessions, { chat: 5, echo: 1 }, "stats before listening, on one link: already counted");
  t.deepEqual(hub.listening, [{ service: "chat", ok: true, port: 4321 }]);
  t.deepEqual(link.listening, { chat: true });
});

test("hub - a line said on one thread reaches every thread with members, once, with its sender left out", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ThreadEnd.connect(t, hub, 1, 1);
  const two = await ThreadEnd.connect(t, hub, 1, 2);
  const idle = await ThreadEnd.connect(t, hub, 2, 1);
  const alice = await join(one, "1.1.1", "alice");
  t.is(alice.online, onlineLine(["alice"]));
  const bob = await join(two, "1.2.1", "bob");
  t.is(bob.online, onlineLine(["alice", "bob"]));
  t.like(await one.next("deliver", (m) => m.line === joinedLine("bob")), { except: "1.2.1" });

  one.link.send({ k: "say", sid: "1.1.1", text: "hello" });
  const atOne = await one.next("deliver", (m) => m.line.includes("hello"));
  const atTwo = await two.next("deliver", (m) => m.line.includes("hello"));
  t.is(atOne.line, chatLine("alice", "hello"));
  t.is(atOne.except, "1.1.1", "the sender's thread leaves the sender out");
  t.deepEqual(atTwo, atOne);
  t.deepEqual(
    hub.history.records.map((r) => `${r.name}: ${r.text}`),
    ["alice: hello"],
  );
  const history = await one.link.request({ k: "history", n: 10 });
  t.deepEqual(
    (history as { records: { text: string }[] }).records.map((r) => r.text),
    ["hello"],
  );
  // A thread without members is not sent the chat at all.
  t.deepEqual(idle.all("deliver"), []);
});

test("hub - a private message goes to the recipient's thread only; an unknown name says so", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ThreadEnd.connect(t, hub, 1, 1);
  const two = await ThreadEnd.connect(t, hub, 1, 2);
  await join(one, "1.1.1", "alice");
  await join(two, "1.2.1", "Bob");
  const sent = (await one.link.request({ k: "msg", sid: "1.1.1", to: "BOB", text: "psst" })) as MsgReply;
  t.deepEqual(sent, { ok: true, name: "Bob" });
  t.like(await two.next("direct"), { sid: "1.2.1", line: "*alice* psst\r\n" });
  t.deepEqual(await one.link.request({ k: "msg", sid: "1.1.1", to: "nobody", text: "hi" }), { ok: false });
  t.deepEqual(one.all("direct"), []);
});

test("hub - signing in on another thread drops the old session there; nobody is told of a leave or a join", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ThreadEnd.connect(t, hub, 1, 1);
  const two = await ThreadEnd.connect(t, hub, 1, 2);
  const watcher = await ThreadEnd.connect(t, hub, 2, 1);
  await join(watcher, "2.1.1", "carol");
  await join(one, "1.1.1", "alice");
  await watcher.next("deliver", (m) => m.line === joinedLine("alice"));
  const again = await join(two, "1.2.1", "alice");
  t.is(again.online, onlineLine(["alice", "carol"]));
  t.like(await one.next("drop"), { sid: "1.1.1", line: SIGNED_IN_ELSEWHERE });
  // The old session's own leave, as its thread would send it, is no news either.
  await one.link.request({ k: "leave", sid: "1.1.1" });
  watcher.link.send({ k: "say", sid: "2.1.1", text: "after" });
  await watcher.next("deliver", (m) => m.line.includes("after"));
  t.deepEqual(
    watcher.all("deliver").map((m) => m.line),
    [joinedLine("carol"), joinedLine("alice"), chatLine("carol", "after")],
    "carol's thread gets her own join (she is left out there), alice's once, and nothing of the takeover",
  );
});

test("hub - the per-address cap counts every thread's connections; a thread's count goes with its link", async (t) => {
  const hub = await TestHub.start(t, { maxPerAddress: 2 });
  const one = await ThreadEnd.connect(t, hub, 1, 1);
  const two = await ThreadEnd.connect(t, hub, 1, 2);
  const admit = (end: ThreadEnd) =>
    (end.link.request({ k: "admit", address: "10.0.0.1" }) as Promise<{ ok: boolean }>).then((r) => r.ok);
  t.true(await admit(one));
  t.true(await admit(two));
  t.false(await admit(one), "a third from the address, whichever thread asks");
  t.true(await one.link.request({ k: "admit", address: "10.0.0.2" }).then((r) => (r as { ok: boolean }).ok));
  // A release names an address the thread itself admitted: thread one's cannot free thread two's.
  one.link.send({ k: "release", address: "10.0.0.1" });
  t.true(await admit(one), "thread one's own slot is free again");
  t.false(await admit(one));
  // A thread whose link ends takes its connections with it.
  await two.link.close();
  await hub.until(() => hub.gone.find((l) => l.thread === 2), "the hub to see thread two gone");
  t.true(await admit(one), "thread two's slot was freed with its link");
});

test("hub - a thread whose link ends: its members are announced left to the other threads, and the primary hears", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ThreadEnd.connect(t, hub, 1, 1);
  const two = await ThreadEnd.connect(t, hub, 1, 2);
  await join(one, "1.1.1", "alice");
  await join(two, "1.2.1", "bob");
  await join(two, "1.2.2", "dave");
  await two.link.close();
  const gone = await hub.until(() => hub.gone[0], "onGone");
  t.like(gone, { worker: 1, thread: 2 });
  await one.next("deliver", (m) => m.line === leftLine("dave"));
  t.deepEqual(
    one
      .all("deliver")
      .map((m) => m.line)
      .filter((l) => l.includes("left")),
    [leftLine("bob"), leftLine("dave")],
  );
  t.deepEqual(hub.chat.who(), ["alice"]);
});

test("hub - the operator's kick drops the session on its thread and tells the others it left; announce reaches every thread with members", async (t) => {
  const hub = await TestHub.start(t);
  const one = await ThreadEnd.connect(t, hub, 1, 1);
  const two = await ThreadEnd.connect(t, hub, 1, 2);
  await join(one, "1.1.1", "alice");
  await join(two, "1.2.1", "bob");
  t.is(hub.chat.announce("maintenance at noon"), 2);
  for (const end of [one, two]) await end.next("deliver", (m) => /maintenance at noon/.test(m.line));
  t.true(hub.chat.kick("BOB", "be nice"));
  t.like(await two.next("drop"), { sid: "1.2.1", line: kickedLine("be nice") });
  t.is((await one.next("deliver", (m) => m.line.includes("left"))).line, leftLine("bob"));
  t.false(hub.chat.kick("bob"), "no longer online");
});

test("hub - a thread that stops answering pings is cut off and reported with how long it was silent", async (t) => {
  const hub = await TestHub.start(t, { pingIntervalMs: 50, threadTimeoutMs: 300 });
  // A thread frozen after its hello: it never answers a ping (a HubLink would, so a bare socket).
  const frozen = net.connect(hub.path);
  frozen.on("error", () => {});
  frozen.resume(); // reads (and ignores) the pings, so it sees the hub close it
  frozen.write(`${JSON.stringify({ k: "hello", worker: 1, thread: 1 })}\n`);
  const closed = new Promise<void>((resolve) => frozen.once("close", () => resolve()));
  const { link, silentMs } = await hub.until(() => hub.unresponsive[0], "onUnresponsive");
  t.like(link, { worker: 1, thread: 1 });
  t.true(silentMs > 300, `silent for ${silentMs} ms`);
  await closed;
  t.pass("the hub closed the frozen thread's socket");
});

test("hub - a message over the link's limit from a thread closes that link and is logged; other links go on", async (t) => {
  const hub = await TestHub.start(t, { maxLine: 4096 });
  const good = await ThreadEnd.connect(t, hub, 1, 2);
  const bad = net.connect(hub.path);
  bad.on("error", () => {});
  bad.resume();
  const closed = new Promise<void>((resolve) => bad.once("close", () => resolve()));
  bad.write(`${JSON.stringify({ k: "hello", worker: 1, thread: 1 })}\n`);
  bad.write(`{"k":"say","sid":"x","text":"${"a".repeat(hubLineLimit(4096) + 10)}"}\n`);
  await closed;
  await hub.until(() => hub.logs.find((l) => /too large; link closed/.test(l.msg)), "the log record");
  t.deepEqual(await good.link.request({ k: "who" }), { names: [], away: [] });
});
