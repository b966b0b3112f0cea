import test from "ava";
import { FloodQueue, OncePer, TokenBucket } from "../../protocol/flood.ts";

const bucket = (floodBurst: number, floodRate: number) => new TokenBucket({ floodBurst, floodRate });

test("flood - a burst of 20 goes through, the 21st does not", (t) => {
  const b = bucket(20, 5);
  let passed = 0;
  for (let i = 0; i < 25; i++) if (b.take(1000)) passed++;
  t.is(passed, 20);
});

test("flood - tokens come back at the rate", (t) => {
  const b = bucket(20, 5);
  for (let i = 0; i < 20; i++) b.take(0);
  t.false(b.take(0));
  t.false(b.take(199), "0.995 of a token");
  t.true(b.take(200), "one token after 200 ms at 5/s");
  t.false(b.take(200));
  // The next 10 s (to 10.2 s) bring exactly 50 more.
  let passed = 0;
  for (let ms = 201; ms <= 10_201; ms += 10) if (b.take(ms)) passed++;
  t.is(passed, 50);
});

test("flood - tokens never exceed the burst", (t) => {
  const b = bucket(3, 1);
  b.take(0);
  let passed = 0;
  for (let i = 0; i < 10; i++) if (b.take(1_000_000)) passed++;
  t.is(passed, 3);
});

test("flood - rate 0 is unlimited", (t) => {
  const b = bucket(1, 0);
  for (let i = 0; i < 1000; i++) t.true(b.take(0));
});

test("flood - a clock going backwards refills nothing", (t) => {
  const b = bucket(1, 1);
  t.true(b.take(10_000));
  t.false(b.take(5_000));
  t.false(b.take(10_500));
  t.true(b.take(11_000));
});

test("flood - OncePer opens at most once per interval", (t) => {
  const o = new OncePer(1000);
  t.true(o.ready(5000));
  t.false(o.ready(5001));
  t.false(o.ready(5999));
  t.true(o.ready(6000));
  t.false(o.ready(6500));
});

test("flood - OncePer says how long until it opens again", (t) => {
  const o = new OncePer(1000);
  t.is(o.waitMs(0), 0);
  o.ready(5000);
  t.is(o.waitMs(5200), 800);
  t.is(o.waitMs(6000), 0);
});

test("flood - the bucket reads its limits at each use: a new rate or burst applies at once", (t) => {
  const limits = { floodBurst: 2, floodRate: 1 };
  const b = new TokenBucket(limits);
  t.true(b.take(0));
  t.true(b.take(0));
  t.false(b.take(0));
  t.is(b.waitMs(0), 1000);
  limits.floodRate = 10;
  t.is(b.waitMs(0), 100, "the wait is computed at the new rate");
  t.true(b.take(100));
  limits.floodRate = 0;
  t.true(b.take(100), "rate 0: no flood control");
  t.is(b.available(100), Number.POSITIVE_INFINITY);
  limits.floodRate = 1;
  limits.floodBurst = 5;
  t.is(b.available(10_000), 5, "refilled up to the new burst");
});

test("flood - queue: beyond the burst lines wait, beyond the queue they are dropped and counted", (t) => {
  const q = new FloodQueue({ floodBurst: 20, floodRate: 5, floodQueue: 100 }, 1 << 20);
  let queued = 0;
  let dropped = 0;
  for (let i = 0; i < 200; i++) {
    if (q.admit(0, queued, queued * 10, 10)) queued++;
    else dropped++;
  }
  t.is(queued, 120, "20 that may go now and 100 waiting");
  t.is(dropped, 80);
  t.true(q.holding(0, queued));
  t.is(q.takeReport(0), 80);
  t.is(q.takeReport(0), 0, "told once");
  // The head of the queue goes at the rate: 20 now, then one each 200 ms.
  for (let i = 0; i < 20; i++) t.is(q.next(0), 0);
  t.is(q.next(0), 200);
  t.is(q.next(200), 0);
});

test("flood - queue: the byte bound drops too, and reports wait for the interval", (t) => {
  const q = new FloodQueue({ floodBurst: 1, floodRate: 1, floodQueue: 100 }, 100);
  t.true(q.admit(0, 0, 0, 60));
  t.false(q.admit(0, 1, 60, 60), "past the byte bound");
  t.is(q.takeReport(0), 1);
  t.false(q.admit(10, 1, 60, 41));
  t.is(q.takeReport(10), 0, "less than a second after the last report");
  t.is(q.reportDueMs(10), 990);
  t.is(q.takeReport(1000), 1);
  t.is(q.reportDueMs(1000), null);
});

test("flood - queue: a queue of 0 drops everything beyond the burst (the old behaviour)", (t) => {
  const q = new FloodQueue({ floodBurst: 2, floodRate: 5, floodQueue: 0 }, 1 << 20);
  t.true(q.admit(0, 0, 0, 1));
  t.true(q.admit(0, 1, 1, 1));
  t.false(q.admit(0, 2, 2, 1));
});
