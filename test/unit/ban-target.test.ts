import test from "ava";
import { AddressBanList, BadBanTarget, formatIPv6, parseBanTarget } from "../../protocol/ban-target.ts";

test("ban targets - addresses and networks take one canonical form", (t) => {
  const target = (text: string) => parseBanTarget(text).target;
  t.is(target("127.0.0.2"), "127.0.0.2");
  t.is(target("127.0.0.2/32"), "127.0.0.2");
  t.is(target("10.1.2.3/8"), "10.0.0.0/8");
  t.is(target("::1"), "::1");
  t.is(target("2001:DB8:0:0:1::/32"), "2001:db8::/32");
  t.is(target("::ffff:127.0.0.2"), "127.0.0.2");
  t.is(target("::ffff:10.0.0.0/104"), "10.0.0.0/8");
  t.is(target("0.0.0.0/0"), "0.0.0.0/0");
  t.is(formatIPv6([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), "2001:db8:0:1::1");
});

test("ban targets - names by key; anything that looks like an address must be one", (t) => {
  const name = parseBanTarget("Mallory");
  t.deepEqual(name.kind === "name" && [name.target, name.key], ["Mallory", "mallory"]);
  for (const bad of [
    "",
    "300.1.2.3",
    "10.0.0.0/33",
    "::1/129",
    "1.2.3",
    "fe80::1%eth0",
    "a/b",
    "bad name",
    "x".repeat(40),
  ])
    t.throws(() => parseBanTarget(bad), { instanceOf: BadBanTarget }, bad);
});

test("ban targets - name:NAME is a name whatever it looks like, and keeps name: where it looks like an address", (t) => {
  const digits = parseBanTarget("name:42");
  t.deepEqual(digits.kind === "name" && [digits.target, digits.key], ["name:42", "42"]);
  const dotted = parseBanTarget(" name:1.2.3.4 ");
  t.deepEqual(dotted.kind === "name" && [dotted.target, dotted.key], ["name:1.2.3.4", "1.2.3.4"]);
  t.is(parseBanTarget(dotted.target).target, "name:1.2.3.4", "the listed target parses to itself");
  t.is(parseBanTarget("name:Mallory").target, "Mallory", "a plain name needs no prefix");
  t.is(parseBanTarget("1.2.3.4").kind, "address");
  t.throws(() => parseBanTarget("42"), { message: /written name:42/ });
  for (const bad of ["name:", "name:bad name", "name:10.0.0.0/8"])
    t.throws(() => parseBanTarget(bad), { instanceOf: BadBanTarget }, bad);
});

test("ban list - exact, CIDR (IPv4 and IPv6), mapped addresses, expiry, most specific first", (t) => {
  const list = new AddressBanList([
    { target: "127.0.0.2", reason: "one", until: null },
    { target: "10.0.0.0/8", reason: "net", until: null },
    { target: "10.9.0.0/16", reason: "narrow", until: 2000 },
    { target: "2001:db8::/32", reason: "v6", until: null },
    { target: "bob", reason: "a name is not an address ban", until: null },
  ]);
  t.is(list.size, 4);
  t.is(list.match("127.0.0.2", 0)?.reason, "one");
  t.is(list.match("::ffff:127.0.0.2", 0)?.reason, "one");
  t.is(list.match("127.0.0.3", 0), null);
  t.is(list.match("10.200.1.1", 0)?.reason, "net");
  t.is(list.match("10.9.1.1", 1000)?.reason, "narrow");
  t.is(list.match("10.9.1.1", 2000)?.reason, "net", "an expired ban no longer matches");
  t.is(list.match("2001:db8:1::5", 0)?.reason, "v6");
  t.is(list.match("2001:db9::5", 0), null);
  t.is(list.match("unknown", 0), null);
  t.is(new AddressBanList([]).match("127.0.0.1", 0), null);
});
