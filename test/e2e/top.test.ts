import path from "node:path";
import test from "ava";
import type { MetricsResult, StatusResult } from "../../protocol/rpc.ts";
import { ROOT, shape } from "../helpers/daemon.ts";
import { Pty, stripAnsi } from "../helpers/pty.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

const d = useDaemon(test, [...shape(1, 2), "--no-echo"]);

const TSCTL = path.join(ROOT, "bin", "tsctl.js");

/** tsctl top on a real terminal (a pty from util-linux script), ended by the test if it is still running. */
function topOnTerminal(t: { teardown(fn: () => void): void }): Pty {
  const pty = new Pty([process.execPath, TSCTL, "--socket", d.daemon.socket, "top"]);
  t.teardown(() => pty.kill());
  return pty;
}

test.serial(
  "top - draws users and sessions per thread, follows a sign-in, q quits 0 and gives the terminal back",
  async (t) => {
    const pty = topOnTerminal(t);
    await pty.waitFor(/users online\s+0\b/);
    t.regex(pty.text, /WORKER\s+PID\s+THREAD\s+SESSIONS\s+LAG p50/);
    t.true(pty.raw.includes("\x1b[?1049h"), "the view is on the alternate screen");

    const from = pty.text.length;
    await d.user("olga");
    await pty.waitFor(/users online\s+1\b/, 15_000, from);
    await pty.waitFor(/connections\s+chat 1\b/, 15_000, from);
    await pty.waitFor(/sign-ins\/min\s+\d/, 15_000, from);
    t.regex(pty.text.slice(from), /messages\/s\s+in [\d.]+\s+out [\d.]+/);

    pty.type("q");
    t.is(await pty.exited, 0);
    const leaving = pty.raw.lastIndexOf("\x1b[?1049l");
    t.true(leaving > pty.raw.lastIndexOf("\x1b[?1049h"), "the alternate screen is left at the end");
    t.true(pty.raw.lastIndexOf("\x1b[?25h") > pty.raw.lastIndexOf("\x1b[?25l"), "the cursor is shown again");
  },
);

test.serial("top - on a terminal of 12 columns and 5 rows no line is wider than the terminal", async (t) => {
  const run = [process.execPath, TSCTL, "--socket", d.daemon.socket, "top"]
    .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(" ");
  const pty = new Pty(["sh", "-c", `stty cols 12 rows 5; exec ${run}`]);
  t.teardown(() => pty.kill());
  await pty.waitFor(/users onlin/);
  const HOME = "\x1b[H";
  const frame = pty.raw.slice(pty.raw.indexOf(HOME) + HOME.length);
  const lines = stripAnsi(frame)
    // The terminal writes each LF as CR LF, so a line ends in CR CR LF.
    .split(/\r*\n/)
    .filter((line) => line !== "");
  t.true(lines.length > 0);
  for (const line of lines) t.true(line.length <= 12, `"${line}" is ${line.length} columns`);
  pty.type("q");
  t.is(await pty.exited, 0);
});

test.serial("top - Ctrl-C quits 0 and gives the terminal back too", async (t) => {
  const pty = topOnTerminal(t);
  await pty.waitFor(/users online/);
  pty.type("\x03");
  t.is(await pty.exited, 0);
  t.true(pty.raw.lastIndexOf("\x1b[?1049l") > pty.raw.lastIndexOf("\x1b[?1049h"));
});

test.serial(
  "top - without a terminal: one snapshot, no escape sequences; --json: one snapshot as JSON",
  async (t) => {
    await d.user("pia");
    const piped = await d.daemon.tsctl(["top"]);
    t.is(piped.code, 0, piped.stderr);
    t.regex(piped.stdout, /users online\s+1\b/);
    t.regex(piped.stdout, /WORKER\s+PID\s+THREAD/);
    t.false(piped.stdout.includes("\x1b"), "plain text for a pipe");

    const json = await d.daemon.tsctl(["top", "--json"]);
    t.is(json.code, 0, json.stderr);
    const snapshot = JSON.parse(json.stdout) as { metrics: MetricsResult; status: StatusResult };
    t.is(snapshot.metrics.usersOnline, 1);
    t.is(snapshot.metrics.threads!.length, 2);
    t.is(snapshot.status.usersOnline, 1);
  },
);

test.serial(
  "top - inside tsctl's shell: q goes back to the prompt, which still takes commands",
  async (t) => {
    const pty = new Pty([process.execPath, TSCTL, "--socket", d.daemon.socket]);
    t.teardown(() => pty.kill());
    await pty.waitFor("tsd> ");
    pty.type("top\r");
    await pty.waitFor(/users online/);
    const from = pty.text.length;
    pty.type("q");
    await pty.waitFor("tsd> ", 10_000, from);
    t.false(pty.text.slice(from).includes("tsd> q"), "the q went to the view, not to the prompt");
    pty.type("status\r");
    await pty.waitFor(/listeners:/, 10_000, from);
    pty.type("exit\r");
    t.is(await pty.exited, 0);
  },
);
