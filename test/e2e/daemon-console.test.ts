/**
 * tsd-daemon --console in a real pseudo-terminal: a log line that comes while the operator is
 * typing is drawn above the prompt, and the prompt and the half-typed command are drawn again
 * below it, as tschat does with server lines.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import test from "ava";
import { ROOT, tempDir } from "../helpers/daemon.ts";
import { Pty } from "../helpers/pty.ts";

test("daemon console - a log line never breaks the line being typed: it is drawn above, the prompt and the text below", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pty = new Pty(
    [
      process.execPath,
      path.join(ROOT, "bin", "tsd-daemon.js"),
      "--console",
      ...["--workers", "1", "--threads", "1", "--chat-port", "0", "--no-echo"],
      ...["--socket", path.join(dir, "c.sock"), "--state-dir", dir],
    ],
    { ...process.env, XDG_STATE_HOME: dir },
  );
  t.teardown(() => pty.kill());
  await pty.waitFor(/tsd-daemon ready: chat=127\.0\.0\.1:\d+/);
  const port = Number(/tsd-daemon ready: chat=127\.0\.0\.1:(\d+)/.exec(pty.text)![1]);
  await pty.waitFor("tsd> ");

  pty.type("sta");
  await pty.waitFor("tsd> sta");
  const before = pty.raw.length;
  // A chat connection: its connect line is logged at info, to the console's terminal.
  const client = net.connect(port, "127.0.0.1");
  t.teardown(() => client.destroy());
  await pty.waitFor(
    / connect conn=w1t1-\d+ address=127\.0\.0\.1 port=\d+\r?\n(.|\n)*tsd> sta/,
    15_000,
    before,
  );

  const after = pty.raw.slice(before);
  const logAt = after.search(/\d{4}-\d\d-\d\dT[^ ]+ info /);
  t.true(logAt >= 0, JSON.stringify(after));
  t.regex(after.slice(0, logAt), /\x1b\[0?J$/, "the prompt's row was wiped before the log line");
  t.regex(
    after.slice(logAt),
    /\n(\x1b\[[0-9;]*[A-Za-z])*tsd> sta/,
    "then the prompt and the typed text, drawn again below it",
  );

  // The typed text is still the line being edited: finishing it runs `status`.
  pty.type("tus\r");
  await pty.waitFor(/tsd \d+\.\d+\.\d+, pid/, 15_000, before);
  pty.type("stop --grace 0s\r");
  t.is(await pty.exited, 0);
});
