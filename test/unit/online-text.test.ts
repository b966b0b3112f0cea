import test from "ava";
import fc from "fast-check";
import { type Member, Roster } from "../../daemon/primary/hub/roster.ts";
import type { HubPeer } from "../../daemon/primary/hub/hub-peer.ts";
import { onlineLine } from "../../protocol/chat-lines.ts";
import { nameKey } from "../../protocol/names.ts";

const peer: HubPeer = { worker: 1, thread: 1, send: () => {} };

/** Names that are prefixes, suffixes and infixes of each other, in several cases and scripts. */
const NAMES = ["bo", "Bob", "bobby", "ob", "obo", "b.o", "b-o", "o", "Anna", "анна2", "Ёж", "z", "Z_1", "a1"];

type Op =
  | { k: "add"; name: string }
  | { k: "remove"; name: string }
  | { k: "away"; name: string; on: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant("add" as const), name: fc.constantFrom(...NAMES) }),
  fc.record({ k: fc.constant("remove" as const), name: fc.constantFrom(...NAMES) }),
  fc.record({ k: fc.constant("away" as const), name: fc.constantFrom(...NAMES), on: fc.boolean() }),
);

test("online text - after any joins, leaves and away changes the roster's line is onlineLine of /who's names", (t) => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const roster = new Roster();
      let sid = 0;
      for (const o of ops) {
        const member = roster.account(nameKey(o.name));
        if (o.k === "add" && !member) {
          const m: Member = {
            sid: String(++sid),
            key: nameKey(o.name),
            name: o.name,
            address: "x",
            since: new Date(0),
            peer,
            away: null,
            lastActive: 0,
          };
          roster.add(m);
        } else if (o.k === "remove" && member) roster.remove(member);
        else if (o.k === "away" && member) roster.setAway(member, o.on ? "lunch" : null);
        if (roster.onlineLine() !== onlineLine(roster.names(), roster.awayNames())) return false;
      }
      return true;
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test("online text - a takeover (the old member out, the new one in under the same name) keeps one entry", (t) => {
  const roster = new Roster();
  const member = (sid: string, name: string): Member => ({
    sid,
    key: nameKey(name),
    name,
    address: "x",
    since: new Date(0),
    peer,
    away: null,
    lastActive: 0,
  });
  const old = member("1", "bob");
  roster.add(member("2", "bo"));
  roster.add(old);
  roster.add(member("3", "bobby"));
  roster.setAway(old, "gone");
  t.is(roster.onlineLine(), "* 3 online: bo, bob (away), bobby\r\n");
  roster.remove(old);
  roster.add(member("4", "bob"));
  t.is(roster.onlineLine(), "* 3 online: bo, bob, bobby\r\n");
});
