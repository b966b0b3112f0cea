import test from "ava";
import { type Outgoing, planWrites } from "../../daemon/thread/chat/outgoing-batch.ts";

const say = (line: string, except: string | null = null): Outgoing => ({ line, except, to: null });
const tell = (line: string, to: string): Outgoing => ({ line, except: null, to });
const from = (author: string, item: Outgoing): Outgoing => ({ ...item, from: author });

test("outgoing batch - a turn's broadcast lines become one shared buffer, in order", (t) => {
  const plan = planWrites([say("* a joined\r\n"), say("* b joined\r\n")]);
  t.is(plan.shared?.toString(), "* a joined\r\n* b joined\r\n");
  t.is(plan.own.size, 0);
});

test("outgoing batch - a sender gets the others' lines but not its own", (t) => {
  const plan = planWrites([say("<a> 1\r\n", "s-a"), say("<b> 2\r\n", "s-b"), say("<a> 3\r\n", "s-a")]);
  t.is(plan.shared?.toString(), "<a> 1\r\n<b> 2\r\n<a> 3\r\n");
  t.is(plan.own.get("s-a")?.toString(), "<b> 2\r\n");
  t.is(plan.own.get("s-b")?.toString(), "<a> 1\r\n<a> 3\r\n");
});

test("outgoing batch - a private line reaches only its target, in order with the rest", (t) => {
  const plan = planWrites([say("<a> hi\r\n", "s-a"), tell("*a* psst\r\n", "s-c"), say("* d joined\r\n")]);
  t.is(plan.shared?.toString(), "<a> hi\r\n* d joined\r\n");
  t.is(plan.own.get("s-c")?.toString(), "<a> hi\r\n*a* psst\r\n* d joined\r\n");
  t.is(plan.own.get("s-a")?.toString(), "* d joined\r\n");
});

test("outgoing batch - a session with nothing to get is marked, not given the shared lines", (t) => {
  const plan = planWrites([say("<a> solo\r\n", "s-a")]);
  t.true(plan.own.has("s-a"));
  t.is(plan.own.get("s-a"), null);
  t.is(planWrites([tell("*x* y\r\n", "s-z")]).shared, null);
});

test("outgoing batch - a session that ignores an author of this turn gets its own write without their lines", (t) => {
  const batch = [
    from("bob", say("<bob> 1\r\n", "s-b")),
    say("* d joined\r\n"),
    from("bob", tell("*bob* psst\r\n", "s-c")),
    from("carol", say("<carol> 2\r\n", "s-c")),
  ];
  const plan = planWrites(
    batch,
    new Map([
      ["s-c", new Set(["bob"])],
      ["s-x", new Set(["zed"])],
    ]),
  );
  t.is(
    plan.shared?.toString(),
    "<bob> 1\r\n* d joined\r\n<carol> 2\r\n",
    "the others share one buffer, unchanged",
  );
  t.is(plan.own.get("s-c")?.toString(), "* d joined\r\n", "neither bob's chat nor his private line");
  t.false(plan.own.has("s-x"), "ignoring someone who said nothing this turn costs no write of its own");
});

test("outgoing batch - nobody ignoring anyone: the plan is as without ignores", (t) => {
  const batch = [from("a", say("<a> 1\r\n", "s-a")), from("b", say("<b> 2\r\n", "s-b"))];
  t.deepEqual(planWrites(batch, new Map()), planWrites(batch));
  t.deepEqual([...planWrites(batch).own.keys()].sort(), ["s-a", "s-b"]);
});
