import test from "ava";
import { buildControlMethods, type DaemonControl } from "../../daemon/control-methods.ts";
import { parseDuration } from "../../ctl/duration.ts";

const noop: DaemonControl = {
  status: () => {
    throw new Error("unused");
  },
  stop: () => {},
  pause: () => true,
  resume: () => false,
};

test("control methods - the table is kept in name order", (t) => {
  const names = Object.keys(buildControlMethods(noop, 5000));
  t.deepEqual(names, [...names].sort());
  t.true(names.includes("status") && names.includes("stop"));
});

test("control methods - stop validates graceMs before stopping anything", (t) => {
  const calls: number[] = [];
  const methods = buildControlMethods({ ...noop, stop: (ms) => calls.push(ms) }, 5000);
  const conn = { notify: () => {}, onClose: () => {}, closed: false };
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
