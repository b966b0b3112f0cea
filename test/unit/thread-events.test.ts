import test from "ava";
import type { ThreadLink } from "../../daemon/primary/hub/hub-server.ts";
import { Listeners } from "../../daemon/primary/listeners.ts";
import { threadEvents } from "../../daemon/primary/thread-events.ts";
import type { HubToThread } from "../../protocol/hub-messages.ts";

function link(worker: number, thread: number): ThreadLink & { sent: HubToThread[] } {
  const sent: HubToThread[] = [];
  const fake = { worker, thread, sent, sessions: { chat: 0, echo: 0 }, listening: {}, lastSeen: 0 };
  return {
    ...fake,
    send: (m: HubToThread) => void sent.push(m),
    close: () => {},
  } as unknown as ThreadLink & {
    sent: HubToThread[];
  };
}

function setup(state: { open: boolean; stopping: boolean }, threadTimeoutMs = 60_000) {
  const logged: string[] = [];
  const restarts: string[] = [];
  const killed = Promise.withResolvers<string>();
  const workers = [1, 2].map((id) => ({
    id,
    send: (m: { k: "restart-thread"; thread: number }) => void restarts.push(`w${id}:${m.k}:${m.thread}`),
    process: { kill: (signal: NodeJS.Signals) => killed.resolve(`w${id}:${signal}`) },
  }));
  const events = threadEvents({
    log: (_level, msg) => void logged.push(msg),
    listeners: new Listeners("127.0.0.1", { chat: 0 }, 2, () => state.open),
    workers: () => workers,
    threadTimeoutMs,
    isOpen: () => state.open,
    isStopping: () => state.stopping,
    settings: () => ({
      maxLine: 4096,
      loginTimeoutSeconds: 60,
      maxPerAddress: 50,
      floodBurst: 20,
      floodRate: 5,
      floodQueue: 100,
      outputLimit: 1 << 20,
      logLevel: "info" as const,
    }),
  });
  return { events, logged, restarts, killed: killed.promise };
}

test("thread events - a thread that stops answering its hub is restarted by its own worker", (t) => {
  const { events, logged, restarts } = setup({ open: true, stopping: false });
  events.onUnresponsive(link(2, 3), 12_000);
  t.deepEqual(restarts, ["w2:restart-thread:3"]);
  t.deepEqual(logged, ["session thread not answering its hub; restarting it"]);
  events.onUnresponsive(link(9, 1), 12_000);
  t.deepEqual(restarts, ["w2:restart-thread:3"], "a worker already gone is not asked");
});

test("thread events - hello while paused says so; a thread gone is logged only when not stopping", (t) => {
  const state = { open: false, stopping: false };
  const { events, logged } = setup(state);
  t.deepEqual(events.onHello(link(1, 1)), { paused: true, ports: { chat: 0 } });
  t.deepEqual(events.onHello(link(1, 2)), { paused: true, ports: null }, "the port is still being picked");
  events.onGone(link(1, 2));
  state.stopping = true;
  events.onGone(link(1, 1));
  t.deepEqual(logged, ["session thread connected", "session thread connected", "session thread gone"]);
});

test("thread events - a worker whose thread does not come back within the timeout is killed", async (t) => {
  const { events, logged, restarts, killed } = setup({ open: true, stopping: false }, 50);
  events.onUnresponsive(link(2, 1), 12_000);
  events.onUnresponsive(link(2, 1), 14_000);
  t.deepEqual(restarts, ["w2:restart-thread:1"], "asked once while the restart is awaited");
  t.is(await killed, "w2:SIGKILL");
  t.true(logged.includes("worker process not restarting its thread; killing it"));
});

test("thread events - a thread that says hello again in time spares its worker", async (t) => {
  const { events, logged } = setup({ open: true, stopping: false }, 50);
  events.onUnresponsive(link(1, 2), 12_000);
  events.onHello(link(1, 2));
  // Longer than the timeout: a kill would have been logged by now.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.false(logged.includes("worker process not restarting its thread; killing it"));
});
