import test from "ava";
import { KnownNames } from "../../client/known-names.ts";

function seen(...lines: string[]): KnownNames {
  const names = new KnownNames();
  for (const line of lines) names.see(line);
  return names;
}

test("known names - learnt from the online list, joins, leaves, chat and private lines; away marked", (t) => {
  const names = seen(
    "* 3 online: Alice (away), bob, carol",
    "* dave joined",
    "* carol left (bye)",
    "<erin> hi",
    "[2026-12-04 10:00:00] <fred> old",
    "*gus* psst",
    "-> *hal* hello",
  );
  t.deepEqual(names.names(), ["Alice", "bob", "dave", "erin", "fred", "gus", "hal"]);
  t.true(names.isAway("alice"));
  t.false(names.isAway("bob"));
  names.see("* bob is away: lunch");
  t.true(names.isAway("bob"));
  names.see("* 2 online: Alice, bob");
  t.false(names.isAway("alice"), "the newest online list is the truth");
  t.deepEqual(names.names(), ["Alice", "bob"]);
});

test("known names - completes the name after /msg, /ignore, /unignore, /whois, and any word after /r", (t) => {
  const names = seen("* 4 online: alice, Alfred, bob, борис");
  t.deepEqual(names.complete("/msg b"), [["bob "], "b"], "one hit after /msg: the name and a space");
  t.deepEqual(names.complete("/msg al"), [["Alfred", "alice"], "al"]);
  t.deepEqual(names.complete("/whois бо"), [["борис"], "бо"]);
  t.deepEqual(names.complete("/ignore ALI"), [["alice"], "ALI"]);
  t.deepEqual(names.complete("/unignore "), [["Alfred", "alice", "bob", "борис"], ""]);
  t.deepEqual(names.complete("/r tell bo"), [["bob"], "bo"]);
  t.deepEqual(names.complete("/msg bob some te"), [[], "/msg bob some te"], "after the name comes text");
  t.deepEqual(names.complete("hello al"), [[], "hello al"], "chat lines are not completed");
});
