import test from "ava";
import { networkOf } from "../../protocol/address-prefix.ts";

const NARROW = { v4: 24, v6: 56 };
const WIDE = { v4: 16, v6: 48 };

test("address prefix - IPv4 addresses of one /24 share a network, the next /24 does not", (t) => {
  t.is(networkOf("192.0.2.7", NARROW), "192.0.2.0/24");
  t.is(networkOf("192.0.2.250", NARROW), "192.0.2.0/24");
  t.is(networkOf("192.0.3.7", NARROW), "192.0.3.0/24");
  t.is(networkOf("192.0.3.7", WIDE), "192.0.0.0/16");
  t.is(networkOf("127.0.0.1", { v4: 32, v6: 128 }), "127.0.0.1/32");
  t.is(networkOf("10.200.3.4", { v4: 12, v6: 64 }), "10.192.0.0/12");
});

test("address prefix - an IPv4-mapped IPv6 address counts as its IPv4 address", (t) => {
  t.is(networkOf("::ffff:192.0.2.7", NARROW), "192.0.2.0/24");
  t.is(networkOf("::FFFF:c000:0207", NARROW), "192.0.2.0/24");
});

test("address prefix - IPv6 in any spelling: compressed, full, with a zone", (t) => {
  const expected = "2001:db8:0:100:0:0:0:0/56";
  t.is(networkOf("2001:db8:0:1ab::1", NARROW), expected);
  t.is(networkOf("2001:0db8:0000:01ff:ffff:ffff:ffff:ffff", NARROW), expected);
  t.is(networkOf("2001:db8:0:1ab::1%eth0", NARROW), expected);
  t.is(networkOf("2001:db8:0:1ab::1", WIDE), "2001:db8:0:0:0:0:0:0/48");
  t.is(networkOf("::1", NARROW), "0:0:0:0:0:0:0:0/56");
  t.is(networkOf("fe80::1:2:3.4.5.6", { v4: 24, v6: 128 }), "fe80:0:0:0:1:2:304:506/128");
});

test("address prefix - what is not an IP address is its own network", (t) => {
  for (const text of [
    "unknown",
    "",
    "1.2.3",
    "1.2.3.256",
    "1.2.3.4.5",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "g::1",
  ])
    t.is(networkOf(text, NARROW), text, JSON.stringify(text));
});
