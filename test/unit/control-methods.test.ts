import test from "ava";
import { buildControlMethods, type DaemonControl } from "../../daemon/primary/control/control-methods.ts";
import { parseDuration } from "../../ctl/duration.ts";

const noop: DaemonControl = {
  status: () => {
    throw new Error("unused");
  },
  stop: () => {},
  pause: () => true,
  resume: async () => false,
  logsTail: async () => ({ lines: [], truncated: false }),
  logsFollow: () => {},
  logsClear: () => 0,
  logsReopen: () => {},
  identitiesList: async () => [],
  identitiesWipe: async () => 0,
  bansAdd: async () => 0,
  bansList: () => [],
  bansRemove: async () => false,
  usersMute: async () => null,
  usersUnmute: async () => null,
  identitiesRemove: async () => false,
  identitiesReset: async () => null,
  usersList: () => [],
  kick: () => false,
  announce: () => 0,
  crashThread: () => false,
  configGet: () => ({}),
  configSet: (key) => ({ key, value: null, previous: null }),
  reload: async () => [],
  waitingForRestart: () => [],
};

test("control methods - the table is kept in name order", (t) => {
  const names = Object.keys(buildControlMethods(noop, 5000));
  t.deepEqual(names, [...names].sort());
  const withDebug = Object.keys(buildControlMethods(noop, 5000, { debugFaults: true }));
  t.deepEqual(withDebug, [...withDebug].sort());
  t.false(names.includes("debug.crashThread"), "fault injection only when asked for");
  t.true(withDebug.includes("debug.crashThread"));
  t.true(names.includes("status") && names.includes("stop"));
});

test("control methods - stop validates graceMs before stopping anything", (t) => {
  const calls: number[] = [];
  const methods = buildControlMethods({ ...noop, stop: (ms) => calls.push(ms) }, 5000);
  const conn = { notify: () => {}, onClose: () => {}, backlog: 0, close: () => {} };
  t.throws(() => methods.stop!({ graceMs: "soon" }, conn), { message: /graceMs/ });
  t.throws(() => methods.stop!([1], conn), { message: /object/ });
  t.deepEqual(calls, []);
  t.deepEqual(methods.stop!(undefined, conn), { stopping: true });
  t.deepEqual(methods.stop!({ graceMs: 0 }, conn), { stopping: true });
  t.deepEqual(calls, [5000, 0]);
});

test("tsctl durations - 5s, 500ms, 2m and bare seconds; garbage is a usage error", (t) => {
  t.is(parseDuration("5s", "--grace"), 5000);
  t.is(parseDuration("500ms", "--grace"), 500);
  t.is(parseDuration("2m", "--grace"), 120_000);
  t.is(parseDuration("3", "--grace"), 3000);
  t.throws(() => parseDuration("soon", "--grace"), { message: /--grace/ });
});

test("control methods - kick, announce and logs.tail refuse bad params with -32602; kick of nobody is -32001", async (t) => {
  const methods = buildControlMethods(noop, 5000);
  const conn = { notify: () => {}, onClose: () => {}, backlog: 0, close: () => {} };
  for (const [method, params] of [
    ["users.kick", {}],
    ["users.kick", { name: 5 }],
    ["chat.announce", { text: "" }],
    ["chat.announce", { text: "x".repeat(5000) }],
    ["logs.tail", { lines: -1 }],
    ["logs.tail", { lines: 10, follow: "yes" }],
  ] as const) {
    const error = await t.throwsAsync(async () => methods[method]!(params, conn));
    t.is((error as unknown as { code: number }).code, -32602, `${method} ${JSON.stringify(params)}`);
  }
  const error = await t.throwsAsync(async () => methods["users.kick"]!({ name: "bob" }, conn));
  t.is((error as unknown as { code: number }).code, -32001);
  t.regex(error!.message, /bob is not online/);
});
