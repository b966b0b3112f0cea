import test from "ava";
import { Listeners, ListenersStillOpen, type ListeningThread } from "../../daemon/primary/listeners.ts";
import { StartupError } from "../../daemon/primary/startup-error.ts";
import type { HubToThread } from "../../protocol/hub-messages.ts";

class FakeThread implements ListeningThread {
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
}

test("listeners - the first thread picks a port of 0; the others wait and then join that port", (t) => {
  const listeners = new Listeners("127.0.0.1", { chat: 0, echo: 7000 }, 3, () => true);
  const [a, b, c] = [new FakeThread(1, 1), new FakeThread(1, 2), new FakeThread(2, 1)];
  t.deepEqual(listeners.hello(a), { chat: 0, echo: 7000 }, "the picker listens on 0");
  t.is(listeners.hello(b), null, "the others wait");
  t.is(listeners.hello(c), null);
  listeners.listening(a, "echo", true, 7000);
  t.deepEqual(b.sent, [], "the echo port was known: still waiting for chat");
  listeners.listening(a, "chat", true, 41234);
  const joined = { k: "listen", on: true, ports: { chat: 41234, echo: 7000 } };
  t.deepEqual(b.sent, [joined]);
  t.deepEqual(c.sent, [joined]);
  t.deepEqual(
    listeners.hello(new FakeThread(2, 2)),
    { chat: 41234, echo: 7000 },
    "a later thread is told at once",
  );
  t.deepEqual(listeners.addresses(), ["chat=127.0.0.1:41234", "echo=127.0.0.1:7000"]);
});

test("listeners - waiting threads told while paused are told to stay closed", (t) => {
  let open = true;
  const listeners = new Listeners("::1", { chat: 0 }, 2, () => open);
  const [a, b] = [new FakeThread(1, 1), new FakeThread(1, 2)];
  listeners.hello(a);
  listeners.hello(b);
  open = false;
  listeners.listening(a, "chat", true, 5000);
  t.deepEqual(b.sent, [{ k: "listen", on: false, ports: { chat: 5000 } }]);
  t.deepEqual(listeners.addresses(), ["chat=[::1]:5000"]);
});

test("listeners - the picker gone before it picked: the next waiting thread picks", (t) => {
  const listeners = new Listeners("127.0.0.1", { chat: 0 }, 3, () => true);
  const [a, b, c] = [new FakeThread(1, 1), new FakeThread(1, 2), new FakeThread(1, 3)];
  listeners.hello(a);
  listeners.hello(b);
  listeners.hello(c);
  listeners.gone(c);
  listeners.gone(a);
  t.deepEqual(b.sent, [{ k: "listen", on: true, ports: { chat: 0 } }], "b picks now");
  t.deepEqual(c.sent, [], "a thread gone is not told");
  listeners.listening(b, "chat", true, 6000);
  t.deepEqual(c.sent, []);
});

test("listeners - ready once every thread listens on every service; each listener bound is reported (the claim's release)", async (t) => {
  const reported: string[] = [];
  const listeners = new Listeners("127.0.0.1", { chat: 4000, echo: 4001 }, 2, () => true, 2);
  listeners.hold({ release: (service) => reported.push(service), releaseAll: () => {} });
  const [a, b] = [new FakeThread(1, 1), new FakeThread(1, 2)];
  let ready = false;
  const waiting = listeners.whenReady(60_000).then(() => {
    ready = true;
  });
  listeners.listening(a, "chat", true, 4000);
  listeners.listening(a, "echo", true, 4001);
  listeners.listening(a, "echo", true, 4001);
  listeners.listening(b, "chat", false, 4000);
  await Promise.resolve();
  t.false(ready, "a listener counts once, and a closed one not at all");
  listeners.listening(b, "chat", true, 4000);
  listeners.listening(b, "echo", true, 4001);
  await waiting;
  t.true(ready);
  t.deepEqual(reported, ["chat", "echo", "echo", "chat", "echo"], "bound listeners only, not the closed one");
});

test("listeners - a listen error fails the start with one sentence naming the port", async (t) => {
  const listeners = new Listeners("127.0.0.1", { chat: 4000 }, 2, () => true);
  const waiting = listeners.whenReady(60_000);
  listeners.listening(new FakeThread(1, 1), "chat", false, 4000, "EADDRINUSE");
  await t.throwsAsync(waiting, {
    instanceOf: StartupError,
    message: "cannot listen for chat on 127.0.0.1:4000: EADDRINUSE",
  });
});

test("listeners - not ready in time fails the start", async (t) => {
  const listeners = new Listeners("127.0.0.1", { chat: 4000 }, 1, () => true);
  await t.throwsAsync(listeners.whenReady(10), { instanceOf: StartupError, message: /not ready after/ });
});

test("listeners - before a resume: a thread that has not reported its listener closed is named, not taken for another program", async (t) => {
  const listeners = new Listeners("127.0.0.1", { chat: 4000 }, 2, () => true);
  const [a, b] = [new FakeThread(1, 1), new FakeThread(1, 2)];
  listeners.listening(a, "chat", true, 4000);
  listeners.listening(b, "chat", true, 4000);
  // The pause: thread 1 closes, thread 2 (frozen) never says so.
  listeners.listening(a, "chat", false, 4000);
  const error = await t.throwsAsync(listeners.checkFree(50), { instanceOf: ListenersStillOpen });
  t.is(error?.message, "session thread w1.t2 did not close its listeners after the pause (not answering?)");
  t.deepEqual(error?.listeners, ["1.2.chat"]);
  // A thread gone counts as closed.
  listeners.gone(b);
  const waiting = listeners.checkFree(60_000);
  await t.notThrowsAsync(
    waiting.catch((e) => (e instanceof ListenersStillOpen ? Promise.reject(e) : undefined)),
  );
});
