import test from "ava";
import { AddressLimiter } from "../../daemon/primary/hub/address-limiter.ts";
import { NameReservations } from "../../daemon/primary/hub/name-reservations.ts";

test("address limiter - an address's count is the sum over the threads; each thread frees only its own", (t) => {
  const limiter = new AddressLimiter(3);
  const [a, b] = [{}, {}];
  t.true(limiter.admit(a, "10.0.0.1"));
  t.true(limiter.admit(a, "10.0.0.1"));
  t.true(limiter.admit(b, "10.0.0.1"));
  t.false(limiter.admit(b, "10.0.0.1"), "three across both threads");
  t.is(limiter.count("10.0.0.1"), 3);
  limiter.release(b, "10.0.0.2");
  limiter.release({}, "10.0.0.1");
  t.is(limiter.count("10.0.0.1"), 3, "a release nobody admitted frees nothing");
  limiter.release(b, "10.0.0.1");
  limiter.release(b, "10.0.0.1");
  t.is(limiter.count("10.0.0.1"), 2, "b had one to release");
  limiter.peerGone(a);
  t.is(limiter.count("10.0.0.1"), 0, "a dead thread's connections are all freed");
  limiter.release(a, "10.0.0.1");
  t.is(limiter.count("10.0.0.1"), 0);
});

test("address limiter - 0 is no cap", (t) => {
  const limiter = new AddressLimiter(0);
  const peer = {};
  for (let i = 0; i < 1000; i++) t.true(limiter.admit(peer, "10.0.0.1"));
  t.is(limiter.count("10.0.0.1"), 1000);
});

test("name reservations - a name is held for one session until it signs in or goes", (t) => {
  const held = new NameReservations();
  const [a, b] = [{}, {}];
  t.true(held.reserve(a, "1", "neo"));
  t.true(held.reserve(a, "1", "neo"), "its own session may ask again");
  t.false(held.reserve(b, "2", "neo"));
  held.signedIn("2", "neo");
  t.false(held.reserve(b, "2", "neo"), "another session's sign-in does not free it");
  held.signedIn("1", "neo");
  t.true(held.reserve(b, "2", "neo"));
  t.true(held.reserve(b, "2", "trinity"));
  held.sessionGone("2");
  t.true(held.reserve(a, "3", "neo"));
  t.true(held.reserve(a, "3", "trinity"));
  held.peerGone(a);
  t.true(held.reserve(b, "4", "trinity"));
});
