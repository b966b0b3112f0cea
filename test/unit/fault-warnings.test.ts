import test from "ava";
import { FaultWarnings } from "../../daemon/thread/chat/fault-warnings.ts";

class Unreachable extends Error {
  override name = "Unreachable";
}

test("fault warnings - one line per kind in a window; the count of those left out is told when the window ends, with no later line needed", async (t) => {
  const lines: { msg: string; meta: Record<string, unknown> }[] = [];
  let windowTold: () => void = () => {};
  const told = new Promise<void>((resolve) => {
    windowTold = resolve;
  });
  const log = (_level: string, msg: string, meta: Record<string, unknown> = {}) => {
    lines.push({ msg, meta });
    if (meta.alikeSinceLastLine !== undefined) windowTold();
  };
  const warnings = new FaultWarnings(200);
  for (let i = 0; i < 50; i++)
    warnings.warn(log, "ignore list not changed", { user: `u${i}` }, new Unreachable("Redis away"));
  warnings.warn(log, "password not changed", { user: "x" }, new Unreachable("Redis away"));
  t.deepEqual(
    lines.map((l) => l.msg),
    ["ignore list not changed", "password not changed"],
    "one line per kind at once",
  );
  // The window's timer is unref'd (it never holds a thread open): keep this process up meanwhile.
  const keepAlive = setInterval(() => {}, 1000);
  await told;
  clearInterval(keepAlive);
  const last = lines.at(-1)!;
  t.is(last.msg, "ignore list not changed");
  t.is(last.meta.alikeSinceLastLine, 49);
  t.is(last.meta.user, "u49", "the window's line carries the last one left out");
  t.is(lines.length, 3);
});
