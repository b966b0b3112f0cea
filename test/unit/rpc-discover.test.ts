import test from "ava";
import { buildControlMethods, type DaemonControl } from "../../daemon/primary/control/control-methods.ts";
import { METHOD_DESCRIPTIONS } from "../../daemon/primary/control/method-descriptions.ts";
import type { MethodDescription } from "../../protocol/rpc.ts";

/** A daemon whose every part does nothing: only the table's shape is looked at. */
const nothing = new Proxy({}, { get: () => () => undefined }) as DaemonControl;
const conn = { notify: () => {}, onClose: () => {}, backlog: 0, close: () => {} };

test("rpc.discover - every method of the table is described, and nothing else", async (t) => {
  const methods = buildControlMethods(nothing, 5000, { debugFaults: true });
  const described = (await methods["rpc.discover"]!(undefined, conn)) as MethodDescription[];
  t.deepEqual(
    described.map((d) => d.name),
    Object.keys(methods).sort(),
  );
  t.deepEqual(
    Object.keys(METHOD_DESCRIPTIONS).sort(),
    Object.keys(methods).sort(),
    "no description of a method not served",
  );
  for (const d of described) {
    t.regex(d.description, /^\S[^\n]*$/, `${d.name}: one line`);
    t.true(d.description.length <= 120, `${d.name}: short`);
    t.is(typeof d.params, "object");
  }
});

test("rpc.discover - the debug method only when --debug-faults serves it", async (t) => {
  const methods = buildControlMethods(nothing, 5000);
  const described = (await methods["rpc.discover"]!(undefined, conn)) as MethodDescription[];
  t.false(described.some((d) => d.name === "debug.crashThread"));
  t.like(
    described.find((d) => d.name === "config.set"),
    { params: { key: "string", value: "number or string" } },
  );
});
