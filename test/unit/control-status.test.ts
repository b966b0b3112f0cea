import test from "ava";
import { describeStatus, type StatusView } from "../../daemon/primary/control/status.ts";

const view = (over: Partial<StatusView> = {}): StatusView => ({
  version: "1.2.3",
  pid: 42,
  startedAt: new Date("2024-01-01T00:00:00Z"),
  now: Date.parse("2024-01-01T00:01:30.900Z"),
  paused: false,
  host: "127.0.0.1",
  ports: { chat: 4000, echo: 4001 },
  workers: [
    { id: 1, pid: 100 },
    { id: 2, pid: 200 },
  ],
  threads: [
    { worker: 1, thread: 2, sessions: { chat: 3, echo: 1 }, listening: { chat: true, echo: true } },
    { worker: 1, thread: 1, sessions: { chat: 1, echo: 0 }, listening: { chat: true, echo: false } },
    { worker: 2, thread: 1, sessions: { chat: 0, echo: 2 }, listening: {} },
  ],
  usersOnline: 3,
  ...over,
});

test("control status - sessions summed per worker and in all, per thread in thread order", (t) => {
  const status = describeStatus(view());
  t.is(status.uptimeSeconds, 90);
  t.is(status.startedAt, "2024-01-01T00:00:00.000Z");
  t.deepEqual(status.sessions, { chat: 4, echo: 3 });
  t.deepEqual(status.workers, [
    { id: 1, pid: 100, threads: 2, sessions: 5, threadSessions: [1, 4] },
    { id: 2, pid: 200, threads: 1, sessions: 2, threadSessions: [2] },
  ]);
  t.deepEqual(status.listeners, [
    { service: "chat", host: "127.0.0.1", port: 4000, listening: true },
    { service: "echo", host: "127.0.0.1", port: 4001, listening: true },
  ]);
  t.is(status.usersOnline, 3);
});

test("control status - paused: no listener is listening, whatever the threads say", (t) => {
  const status = describeStatus(view({ paused: true }));
  t.true(status.paused);
  t.deepEqual(
    status.listeners.map((l) => l.listening),
    [false, false],
  );
});
