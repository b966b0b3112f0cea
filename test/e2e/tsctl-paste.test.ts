/**
 * A page pasted into tsctl's shell as one line is one short error, at once, and the shell goes
 * on: the message repeats a few dozen characters of it, and "did you mean" does not fill a table
 * of edit distances a megabyte long (it took 12 s for a 1 MB line, and repeated it whole on stderr).
 */
import test from "ava";
import { shape } from "../helpers/daemon.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

const d = useDaemon(test, shape(1, 1));

test("tsctl shell - a 1 MB line pasted from a pipe: one short line on stderr, and the next command runs", async (t) => {
  const pasted = "x".repeat(1_000_000);
  const started = Date.now();
  const run = await d.daemon.tsctl([], { input: `${pasted}\nstatus\n` });
  t.log(`answered in ${Date.now() - started} ms`);
  t.is(run.code, 2, run.stderr.slice(0, 200));
  t.is(run.stderr.split("\n").filter(Boolean).length, 1);
  t.true(run.stderr.length < 300, `${run.stderr.length} characters on stderr`);
  t.regex(run.stderr, /^tsctl: unknown command "x{60}\.\.\."/);
  t.regex(run.stdout, /listeners:/, "the shell went on to status");
});
