import test from "ava";
import { type Outgoing, planWrites } from "../../daemon/thread/chat/outgoing-batch.ts";

const say = (line: string, except: string | null = null): Outgoing => ({ line, except, to: null });
const tell = (line: string, to: string): Outgoing => ({ line, except: null, to });

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
