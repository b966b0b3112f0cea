import test from "ava";
import { Backoff } from "../../daemon/shared/backoff.ts";

test("backoff - doubles up to the cap and starts over after a stable run", (t) => {
  const backoff = new Backoff(100, 1000, 30_000);
  t.deepEqual(
    [0, 0, 0, 0, 0, 0].map((lived) => backoff.next(lived)),
    [100, 200, 400, 800, 1000, 1000],
  );
  t.is(backoff.next(30_000), 100);
  t.is(backoff.next(10), 200);
});
