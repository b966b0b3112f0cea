import test from "ava";
import { EmbeddedChatHub, type HistorySink, type HubPeer } from "../../daemon/chat-hub.ts";
import type { HistoryEntry, HubToThread } from "../../protocol/hub-messages.ts";

class FakePeer implements HubPeer {
  readonly sent: HubToThread[] = [];
  readonly worker: number;
  readonly thread: number;
  constructor(worker: number, thread: number) {
    this.worker = worker;
    this.thread = thread;
  }
  send(message: HubToThread): void {
    this.sent.push(message);
  }
  lines(): string[] {
    return this.sent.flatMap((m) => (m.k === "deliver" ? [m.line] : []));
  }
}

function memoryHistory(): HistorySink {
  const records: HistoryEntry[] = [];
  return { append: (r) => records.push(r), last: (n) => records.slice(-n) };
}

function hub(maxPerAddress = 0, now = () => 1_000_000) {
  return new EmbeddedChatHub({ maxPerAddress, history: memoryHistory(), log: () => {}, now });
}

test("chat hub - a line goes to each thread with members once, never once per member", (t) => {
  const h = hub();
  const [a, b] = [new FakePeer(1, 1), new FakePeer(1, 2)];
  h.join(a, "1.1.1", "alice", "alice", "x");
  h.join(a, "1.1.2", "bob", "bob", "x");
  h.join(b, "1.2.1", "carol", "carol", "x");
  a.sent.length = 0;
  b.sent.length = 0;
  h.say(a, "1.1.1", "hi");
  t.deepEqual(a.sent, [{ k: "deliver", line: "<alice> hi\r\n", except: "1.1.1" }]);
  t.deepEqual(b.sent, [{ k: "deliver", line: "<alice> hi\r\n", except: "1.1.1" }]);
  t.deepEqual(h.history(5), [{ time: 1_000_000, name: "alice", text: "hi" }]);
});

test("chat hub - a takeover drops the old session quietly; its late leave is ignored", (t) => {
  const h = hub();
  const [a, b] = [new FakePeer(1, 1), new FakePeer(2, 1)];
  h.join(a, "1.1.1", "watcher", "watcher", "x");
  h.join(a, "1.1.2", "kim", "kim", "x");
  a.sent.length = 0;
  h.join(b, "2.1.1", "kim", "kim", "y");
  t.deepEqual(
    a.sent.filter((m) => m.k === "drop"),
    [{ k: "drop", sid: "1.1.2", line: "* signed in from elsewhere\r\n", reason: "signed in from elsewhere" }],
  );
  h.leave(a, "1.1.2");
  t.deepEqual(a.lines(), [], "nobody is told: kim never left");
  t.deepEqual(h.who(), ["kim", "watcher"]);
});

test("chat hub - a name held for registration is refused to others and freed when its thread goes", (t) => {
  const h = hub();
  const [a, b] = [new FakePeer(1, 1), new FakePeer(1, 2)];
  t.true(h.reserve(a, "1.1.1", "neo"));
  t.false(h.reserve(b, "1.2.1", "neo"));
  h.peerGone(a);
  t.true(h.reserve(b, "1.2.1", "neo"));
  h.join(b, "1.2.1", "neo", "Neo", "x");
  t.false(h.reserve(a, "1.1.9", "neo"), "an online name cannot be registered again");
});

test("chat hub - the per-address cap counts across threads and frees slots, also of a dead thread", (t) => {
  const h = hub(2);
  const [a, b] = [new FakePeer(1, 1), new FakePeer(1, 2)];
  t.true(h.admit(a, "10.0.0.1"));
  t.true(h.admit(b, "10.0.0.1"));
  t.false(h.admit(a, "10.0.0.1"));
  t.true(h.admit(a, "10.0.0.2"));
  h.release(b, "10.0.0.1");
  t.true(h.admit(b, "10.0.0.1"));
  h.peerGone(a);
  t.true(h.admit(b, "10.0.0.1"));
  t.false(h.admit(b, "10.0.0.1"));
});

test("chat hub - failed sign-ins grow the delay per account and address; a success clears it", (t) => {
  let now = 0;
  const h = hub(0, () => now);
  t.is(h.throttleDelay("alice", "1.2.3.4"), 0);
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    h.failed("alice", "1.2.3.4");
    delays.push(h.throttleDelay("alice", "1.2.3.4"));
  }
  t.deepEqual(delays, [250, 500, 1000, 2000, 4000]);
  t.is(h.throttleDelay("alice", "5.6.7.8"), 0, "another address is not slowed");
  now += 4000;
  t.is(h.throttleDelay("alice", "1.2.3.4"), 0, "the delay runs out");
  h.join(new FakePeer(1, 1), "s", "alice", "alice", "1.2.3.4");
  h.failed("alice", "1.2.3.4");
  t.is(h.throttleDelay("alice", "1.2.3.4"), 250, "a successful sign-in started the count over");
});

test("chat hub - a dead thread's users are announced as left once; kick and announce reach members", (t) => {
  const h = hub();
  const [a, b] = [new FakePeer(1, 1), new FakePeer(2, 1)];
  h.join(a, "1.1.1", "ann", "ann", "x");
  h.join(b, "2.1.1", "ben", "ben", "x");
  b.sent.length = 0;
  h.peerGone(a);
  t.deepEqual(b.lines(), ["* ann left\r\n"]);
  t.is(h.announce("hello"), 1);
  t.deepEqual(b.lines().at(-1), "* server: hello\r\n");
  t.true(h.kick("BEN", "spam"));
  t.deepEqual(b.sent.at(-1), {
    k: "drop",
    sid: "2.1.1",
    line: "* disconnected by the operator: spam\r\n",
    reason: "kicked by the operator",
  });
  t.false(h.kick("nobody"));
});
