import test from "ava";
import { EmbeddedChatHub, type HistorySink, type HubPeer } from "../../daemon/primary/hub/chat-hub.ts";
import type { HistoryEntry, HubToThread } from "../../protocol/hub-messages.ts";
import { onlineLine } from "../../protocol/chat-lines.ts";

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
  // from: the author's key, so a thread can hide the line from the sessions that ignore alice.
  t.deepEqual(a.sent, [{ k: "deliver", line: "<alice> hi\r\n", except: "1.1.1", from: "alice" }]);
  t.deepEqual(b.sent, [{ k: "deliver", line: "<alice> hi\r\n", except: "1.1.1", from: "alice" }]);
  t.deepEqual(h.history(5), { records: [{ time: 1_000_000, name: "alice", text: "hi" }], omitted: 0 });
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
  const delay = (address: string) => h.throttle("alice", address, null).delayMs;
  t.is(delay("1.2.3.4"), 0);
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) {
    h.failed("alice", "1.2.3.4");
    delays.push(delay("1.2.3.4"));
  }
  t.deepEqual(delays, [250, 500, 1000, 2000, 4000]);
  t.is(delay("5.6.7.8"), 0, "another address is not slowed");
  now += 4000;
  t.is(delay("1.2.3.4"), 0, "the delay runs out");
  h.join(new FakePeer(1, 1), "s", "alice", "alice", "1.2.3.4");
  h.failed("alice", "1.2.3.4");
  t.is(delay("1.2.3.4"), 250, "a successful sign-in started the count over");
});

test("chat hub - checks of one account from many addresses are spaced out; its own addresses are not", (t) => {
  let now = 0;
  const h = hub(0, () => now);
  h.join(new FakePeer(1, 1), "s", "bob", "bob", "10.9.9.9");
  const waits: number[] = [];
  for (let i = 0; i < 30; i++) {
    const answer = h.throttle("bob", `10.0.${i}.1`, "10.8.8.8");
    waits.push(answer.retryAfterMs === undefined ? answer.delayMs : -1);
  }
  t.deepEqual(waits.slice(0, 11), new Array(11).fill(0), "the first checks from new addresses are free");
  t.deepEqual(
    waits.slice(11, 15),
    [2000, 4297, 6936, 9967],
    "then each waits its turn, the turns further apart",
  );
  t.true(
    waits.slice(15).every((w) => w === -1),
    "a turn more than 10 s away is refused, not queued",
  );
  t.deepEqual(h.throttle("bob", "10.8.8.8", "10.8.8.8"), { delayMs: 0 }, "the identity file's last address");
  t.deepEqual(h.throttle("bob", "10.9.9.9", null), { delayMs: 0 }, "an address bob signed in from");
  now += 60 * 60_000 + 1;
  t.deepEqual(h.throttle("bob", "10.0.99.1", null), { delayMs: 0 }, "an hour later the count starts over");
});

test("chat hub - registrations are bounded per /24 and per /16; looking does not spend", (t) => {
  let now = 0;
  const h = new EmbeddedChatHub({
    maxPerAddress: 0,
    registrationsPerHour: 2,
    history: memoryHistory(),
    log: () => {},
    now: () => now,
  });
  t.deepEqual(h.registration("10.1.1.1", false), { ok: true, retryAfterMs: 0 });
  t.true(h.registration("10.1.1.1", true).ok);
  t.true(h.registration("10.1.1.2", true).ok);
  const refused = h.registration("10.1.1.3", false);
  t.false(refused.ok, "the /24 has spent its 2");
  t.is(refused.retryAfterMs, 30 * 60_000, "one comes back every half hour");
  t.false(h.registration("10.1.1.3", true).ok);
  for (const net of [2, 3, 4])
    for (const host of [1, 2]) t.true(h.registration(`10.1.${net}.${host}`, true).ok);
  t.false(h.registration("10.1.5.1", true).ok, "the /16 has spent its 4 x 2");
  t.true(h.registration("10.2.0.1", true).ok, "another /16 has its own");
  now += 30 * 60_000;
  t.true(h.registration("10.1.1.3", true).ok);
  t.true(
    new EmbeddedChatHub({ maxPerAddress: 0, history: memoryHistory(), log: () => {} }).registration("x", true)
      .ok,
  );
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

test("chat hub - away: marked and cleared, shown to /who, told to a /msg sender, reset by a new sign-in", (t) => {
  let now = 1_000_000;
  const h = hub(0, () => now);
  const a = new FakePeer(1, 1);
  h.join(a, "1.1.1", "alice", "alice", "x");
  h.join(a, "1.1.2", "bob", "Bob", "x");
  t.deepEqual(h.away(a, "1.1.2", "lunch"), { was: null });
  t.deepEqual(h.awayNames(), ["Bob"]);
  const reply = h.msg(a, "1.1.1", "BOB", "hi");
  t.deepEqual(reply, { ok: true, name: "Bob", away: "lunch" });
  t.deepEqual(
    a.sent.at(-1),
    { k: "direct", sid: "1.1.2", line: "*alice* hi\r\n", from: { key: "alice", name: "alice" } },
    "the private line names its sender for /reply and /ignore",
  );
  now += 5000;
  h.say(a, "1.1.1", "later");
  t.deepEqual(h.whois("bob"), { name: "Bob", since: 1_000_000, lastActive: 1_000_000, away: "lunch" });
  t.is(h.whois("alice")?.lastActive, now, "saying something is activity");
  t.is(h.whois("nobody"), null);
  t.deepEqual(h.away(a, "1.1.2", null), { was: "lunch" });
  t.deepEqual(h.awayNames(), []);
  h.away(a, "1.1.2", "gone");
  h.join(a, "1.1.3", "bob", "Bob", "y");
  t.deepEqual(h.awayNames(), [], "a takeover is someone at a keyboard again");
});

test("chat hub - each join reply's online line is /who's at that moment: after joins, leaves, a takeover, away and back", (t) => {
  const h = hub();
  const a = new FakePeer(1, 1);
  const b = new FakePeer(1, 2);
  // /who as the thread answers it: the hub's names and away names, formatted there.
  const who = () => onlineLine(h.who(), h.awayNames());
  const joined = (peer: FakePeer, sid: string, name: string) => {
    const reply = h.join(peer, sid, name.toLowerCase(), name, "x");
    t.is(reply.online, who(), `${name}'s online line`);
    return reply.online;
  };
  t.is(joined(a, "1.1.1", "zed"), "* 1 online: zed\r\n");
  joined(b, "1.2.1", "Amy");
  h.away(a, "1.1.1", "lunch");
  t.is(joined(a, "1.1.2", "bo"), "* 3 online: Amy, bo, zed (away)\r\n", "away users marked");
  h.leave(b, "1.2.1");
  t.is(joined(b, "1.2.2", "cy"), "* 3 online: bo, cy, zed (away)\r\n", "a leave");
  h.away(a, "1.1.1", null);
  t.is(joined(b, "1.2.3", "Dee"), "* 4 online: bo, cy, Dee, zed\r\n", "back from away");
  h.peerGone(b);
  t.is(joined(a, "1.1.3", "BO"), "* 2 online: BO, zed\r\n", "a dead thread's members are gone; a takeover");
});

test("chat hub - the message of the day goes out with each join reply, as last set", (t) => {
  const h = hub();
  const a = new FakePeer(1, 1);
  t.deepEqual(h.join(a, "1.1.1", "alice", "alice", "x").motd, []);
  h.setMotd(["welcome", "be kind"]);
  t.deepEqual(h.join(a, "1.1.2", "bob", "bob", "x").motd, ["welcome", "be kind"]);
});
