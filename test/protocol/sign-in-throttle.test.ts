import test from "ava";
import {
  ACCOUNT_FREE_CHECKS,
  ACCOUNT_MAX_INTERVAL_MS,
  ACCOUNT_MAX_WAIT_MS,
  SignInThrottle,
  TRUSTED_FOR_MS,
} from "../../protocol/sign-in-throttle.ts";

/** Guessers that retry as soon as allowed: how many checks one account gets from new addresses in ms. */
function checksIn(ms: number): number {
  const throttle = new SignInThrottle();
  let granted = 0;
  let now = 0;
  for (let n = 0; now <= ms; n = (n + 1) % 65536) {
    const address = `10.0.${n >> 8}.${n & 255}`;
    const answer = throttle.check("victim", address, "192.0.2.1", now);
    if (answer.retryAfterMs !== undefined) {
      now += answer.retryAfterMs - ACCOUNT_MAX_WAIT_MS + 1;
      continue;
    }
    if (now + answer.delayMs <= ms) granted++;
    throttle.failed("victim", address, now + answer.delayMs);
  }
  return granted;
}

test("sign-in throttle - an account's checks from new addresses: measured over 15 s, 1 h, 1 day", (t) => {
  const fifteen = checksIn(15_000);
  const hour = checksIn(3_600_000);
  const day = checksIn(86_400_000);
  t.log(`checks from new addresses: ${fifteen} in 15 s, ${hour} in 1 h, ${day} in 1 day`);
  t.true(fifteen <= ACCOUNT_FREE_CHECKS + 7, `${fifteen} in 15 s`);
  t.true(hour <= 60, `${hour} in 1 h`);
  t.true(day <= 60 + 23 * (3_600_000 / ACCOUNT_MAX_INTERVAL_MS) + 1, `${day} in 1 day`);
});

test("sign-in throttle - the owner's addresses are never slowed by others' guesses", (t) => {
  const throttle = new SignInThrottle();
  throttle.signedIn("alice", "198.51.100.7", 0);
  for (let i = 0; i < 100; i++) throttle.check("alice", `10.0.0.${i}`, "192.0.2.1", 1000);
  t.deepEqual(
    throttle.check("alice", "192.0.2.1", "192.0.2.1", 1000),
    { delayMs: 0 },
    "the file's last address",
  );
  t.deepEqual(
    throttle.check("alice", "198.51.100.7", null, 1000),
    { delayMs: 0 },
    "an address alice signed in from",
  );
  const later = TRUSTED_FOR_MS + 1;
  for (let i = 0; i < 100; i++) throttle.check("alice", `10.0.0.${i}`, "192.0.2.1", later);
  t.not(throttle.check("alice", "198.51.100.7", null, later).retryAfterMs, undefined, "not for ever");
});

test("sign-in throttle - own failures still slow the owner's address, per address", (t) => {
  const throttle = new SignInThrottle();
  throttle.failed("alice", "192.0.2.1", 0);
  throttle.failed("alice", "192.0.2.1", 0);
  t.deepEqual(throttle.check("alice", "192.0.2.1", "192.0.2.1", 100), { delayMs: 400 });
});

test("sign-in throttle - memory is bounded: entries past the cap and stale ones are forgotten", (t) => {
  const throttle = new SignInThrottle(50);
  for (let i = 0; i < 1000; i++) {
    throttle.check(`user${i}`, `10.0.${i >> 8}.${i & 255}`, null, 0);
    throttle.failed(`user${i}`, `10.0.${i >> 8}.${i & 255}`, 0);
    throttle.signedIn(`user${i}`, "192.0.2.1", 0);
  }
  t.true(throttle.size <= 150, `${throttle.size} entries`);
  throttle.check("late", "10.9.9.9", null, 40 * 24 * 3_600_000);
  throttle.failed("late", "10.9.9.9", 40 * 24 * 3_600_000);
  throttle.signedIn("late", "10.9.9.9", 40 * 24 * 3_600_000);
  t.is(throttle.size, 2, "a month later only the newest remain");
});
