import test from "ava";
import { OncePer, TokenBucket } from "../../protocol/flood.ts";

test("flood - a burst of 20 goes through, the 21st does not", (t) => {
  const b = new TokenBucket(20, 5);
  let passed = 0;
  for (let i = 0; i < 25; i++) if (b.take(1000)) passed++;
  t.is(passed, 20);
});

test("flood - tokens come back at the rate", (t) => {
  const b = new TokenBucket(20, 5);
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
  const b = new TokenBucket(3, 1);
  b.take(0);
  let passed = 0;
  for (let i = 0; i < 10; i++) if (b.take(1_000_000)) passed++;
  t.is(passed, 3);
});

test("flood - rate 0 is unlimited", (t) => {
  const b = new TokenBucket(1, 0);
  for (let i = 0; i < 1000; i++) t.true(b.take(0));
});

test("flood - a clock going backwards refills nothing", (t) => {
  const b = new TokenBucket(1, 1);
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
