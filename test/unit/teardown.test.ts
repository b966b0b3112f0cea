import test from "ava";
import { Teardown, TeardownFailed } from "../../daemon/primary/teardown.ts";

test("teardown - steps run newest first, each once, with the grace given", async (t) => {
  const ran: string[] = [];
  const teardown = new Teardown();
  for (const name of ["lock", "logger", "hub", "workers"])
    teardown.add(name, (graceMs) => void ran.push(`${name}:${graceMs}`));
  t.deepEqual(teardown.pending, ["workers", "hub", "logger", "lock"]);
  await teardown.run(250, () => t.fail("nothing fails"));
  t.deepEqual(ran, ["workers:250", "hub:250", "logger:250", "lock:250"]);
  await teardown.run(0, () => t.fail("nothing fails"));
  t.is(ran.length, 4, "a second run finds nothing left to undo");
});

test("teardown - a step that fails is reported and the older steps still run; then it rejects naming it", async (t) => {
  const ran: string[] = [];
  const reported: string[] = [];
  const teardown = new Teardown();
  teardown.add("lock", () => void ran.push("lock"));
  teardown.add("history", async () => {
    await Promise.resolve();
    throw new Error("disk gone");
  });
  teardown.add("control socket", () => void ran.push("control socket"));
  const error = await t.throwsAsync(
    teardown.run(0, (step, e) => reported.push(`${step}: ${(e as Error).message}`)),
    { instanceOf: TeardownFailed },
  );
  t.deepEqual(error?.steps, ["history"]);
  t.deepEqual(reported, ["history: disk gone"]);
  t.deepEqual(ran, ["control socket", "lock"]);
});

test("teardown - a step waits for the one before it", async (t) => {
  const ran: string[] = [];
  const teardown = new Teardown();
  teardown.add("logger", () => void ran.push("logger"));
  teardown.add("workers", async () => {
    await new Promise((resolve) => setImmediate(resolve));
    ran.push("workers");
  });
  await teardown.run(0, () => {});
  t.deepEqual(ran, ["workers", "logger"]);
});
