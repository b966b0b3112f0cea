import test from "ava";
import { KeyedBuckets, RegistrationBudget, registrationTiers } from "../../protocol/registration-budget.ts";

const HOUR = 3_600_000;

test("registration budget - a burst, then one every 1/rate of an hour, per key", (t) => {
  const b = new KeyedBuckets(3, 3, 100);
  for (let i = 0; i < 3; i++) {
    t.is(b.waitMs("a", 0), 0);
    b.spend("a", 0);
  }
  t.is(b.waitMs("a", 0), HOUR / 3);
  t.is(b.waitMs("b", 0), 0, "another key has its own bucket");
  t.is(b.waitMs("a", HOUR / 3 - 1), 1);
  t.is(b.waitMs("a", HOUR / 3), 0);
});

test("registration budget - refilled buckets and the least recently used past the cap are forgotten", (t) => {
  const b = new KeyedBuckets(1, 1, 3);
  for (let i = 0; i < 10; i++) b.spend(`k${i}`, 0);
  t.is(b.size, 3, "at most maxKeys");
  t.is(b.waitMs("k9", 0), HOUR, "the newest are kept");
  b.spend("later", 2 * HOUR);
  t.is(b.size, 1, "buckets that refilled are gone");
});

test("registration budget - all tiers or none: a refused registration spends nothing", (t) => {
  const budget = new RegistrationBudget(registrationTiers(2));
  t.is(budget.take("10.0.0.1", 0), 0);
  t.is(budget.take("10.0.0.2", 0), 0);
  t.is(budget.take("10.0.0.3", 0), HOUR / 2, "the /24 is spent");
  // 6 more from other /24s of the /16 fill its 8; the refusal above did not count against it.
  for (let n = 1; n <= 3; n++) for (const h of [1, 2]) t.is(budget.take(`10.0.${n}.${h}`, 0), 0);
  t.is(budget.take("10.0.9.1", 0), HOUR / 8, "the /16 is spent");
  t.is(budget.take("10.1.0.1", 0), 0);
  t.is(budget.waitMs("::ffff:10.0.0.9", 0), HOUR / 2, "a mapped address is its IPv4 network");
});

test("registration budget - IPv6: one /56 is one customer, 256 of them in a /48 buy 4 times, not 256 times", (t) => {
  const budget = new RegistrationBudget(registrationTiers(1));
  t.is(budget.take("2001:db8:0:100::1", 0), 0);
  t.true(budget.take("2001:db8:0:1ff::2", 0) > 0, "same /56");
  let made = 1;
  for (let sub = 0; sub < 256; sub++) if (budget.take(`2001:db8:0:${sub.toString(16)}00::1`, 0) === 0) made++;
  t.is(made, 4);
});
