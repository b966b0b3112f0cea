/**
 * The tsctl shell on a real terminal (util-linux `script`), against a real daemon: Ctrl-C
 * discards the line being typed and the shell goes on; history is kept between runs in the
 * user's state directory (0600); a mistyped command gets "did you mean"; Tab completes
 * commands, actions and the names of users online; Ctrl-D ends with a newline.
 */
import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { ROOT, shape, tempDir } from "../helpers/daemon.ts";
import { Pty } from "../helpers/pty.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

const d = useDaemon(test, shape(1, 1));

/** tsctl's shell in a pty, its history under a state directory of the test's own. */
function shell(stateHome: string): Pty {
  const pty = new Pty([process.execPath, path.join(ROOT, "bin", "tsctl.js"), "--socket", d.daemon.socket], {
    ...process.env,
    XDG_STATE_HOME: stateHome,
  });
  return pty;
}

test.serial(
  "tsctl shell - Ctrl-C discards the typed line and the shell goes on; Ctrl-D ends it with a newline",
  async (t) => {
    const home = tempDir();
    t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
    const pty = shell(home);
    t.teardown(() => pty.kill());
    await pty.waitFor("tsd> ");
    pty.type("pause");
    await pty.waitFor("tsd> pause");
    let mark = pty.text.length;
    pty.type("\x03");
    await pty.waitFor(/\^C\r?\ntsd> $/, 10_000, mark);
    mark = pty.text.length;
    pty.type("status\r");
    await pty.waitFor(/tsd \d+\.\d+\.\d+, pid \d+/, 10_000, mark);
    t.false(pty.text.slice(mark).includes("PAUSED"), "the discarded pause never ran");
    t.false((await d.status()).paused);
    await pty.waitFor(/tsd> $/, 10_000, mark);
    pty.type("\x04");
    t.is(await pty.exited, 0);
    t.regex(pty.text, /tsd> \r?\n$/, "a newline after the last prompt");
  },
);

test.serial(
  "tsctl shell - history is kept between runs, in the user's state directory, mode 0600",
  async (t) => {
    const home = tempDir();
    t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
    const first = shell(home);
    t.teardown(() => first.kill());
    await first.waitFor("tsd> ");
    first.type("who\r");
    await first.waitFor("nobody online");
    first.type("exit\r");
    t.is(await first.exited, 0);
    const file = path.join(home, "tsd", "tsctl_history");
    t.is(fs.readFileSync(file, "utf8"), "who\nexit\n");
    t.is(fs.statSync(file).mode & 0o777, 0o600);

    const second = shell(home);
    t.teardown(() => second.kill());
    await second.waitFor("tsd> ");
    const mark = second.text.length;
    // Up twice: "exit", then "who", from the first run.
    second.type("\x1b[A\x1b[A");
    await second.waitFor("who", 10_000, mark);
    second.type("\r");
    await second.waitFor("nobody online", 10_000, mark);
    second.type("exit\r");
    t.is(await second.exited, 0);
  },
);

test.serial(
  "tsctl shell - a typo gets did you mean; Tab completes commands, actions and users online",
  async (t) => {
    const home = tempDir();
    t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
    const alice = await d.user("alicia");
    t.teardown(() => alice.close());
    const pty = shell(home);
    t.teardown(() => pty.kill());
    await pty.waitFor("tsd> ");
    pty.type("stauts\r");
    await pty.waitFor("did you mean `status`?");

    let mark = pty.text.length;
    pty.type("kick al\t");
    await pty.waitFor("kick alicia", 10_000, mark);
    pty.type("\x03");
    await pty.waitFor("^C", 10_000, mark);

    mark = pty.text.length;
    pty.type("identities rem\t");
    await pty.waitFor("identities remove", 10_000, mark);
    pty.type(" ali\t");
    await pty.waitFor("identities remove alicia", 10_000, mark);
    pty.type("\x03");
    await pty.waitFor("^C", 10_000, mark);

    mark = pty.text.length;
    pty.type("unb\t");
    await pty.waitFor("unban", 10_000, mark);
    pty.type("\x03");
    await pty.waitFor("^C", 10_000, mark);
    t.deepEqual(
      (await d.who()).map((u) => u.name),
      ["alicia"],
      "nothing was kicked",
    );
    pty.type("exit\r");
    t.is(await pty.exited, 0);
  },
);
