import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, startDaemon } from "../helpers/daemon.ts";
import { render } from "./screen.ts";
import { type Running, run, TSCHAT } from "./tschat.ts";

let daemon: RunningDaemon;
let alice: ChatClient;

test.before(async () => {
  daemon = await startDaemon(["--workers", "1", "--threads", "1"]);
  alice = await ChatClient.connect(daemon.chatPort);
  await alice.register("alice", "secret1");
});
test.after.always(async () => {
  alice?.close();
  await daemon?.cleanup();
});

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** tschat on a pseudo-terminal of 80x24 (util-linux script); stdin is the keyboard. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const command = `stty cols 80 rows 24; exec ${[process.execPath, TSCHAT, ...args].map(quote).join(" ")}`;
  return run("script", ["-qfec", command, "/dev/null"], { ...process.env, TERM: "xterm", ...env });
}

/** Waits until the rendered screen's last row (where the cursor is) reads `text`. */
async function screenEndsWith(tty: Running, text: string): Promise<void> {
  await tty.output((out) => render(out).at(-1) === text);
}

test("screen - the test renderer follows readline's redraws", (t) => {
  t.deepEqual(render("> hal\x1b[1G\x1b[0J<a> in\r\n> hal\x1b[6G"), ["<a> in", "> hal"]);
  t.deepEqual(render("ab\r\nxyz\x1b[1A\x1b[1G\x1b[0Jq"), ["q"]);
  t.deepEqual(render("\x1b[2mdim\x1b[0m\r\r\nnext"), ["dim", "next"]);
});

test.serial(
  "tty - a line arriving mid-typing is printed above; the half line is kept and sent whole",
  async (t) => {
    const tty = onTerminal(["--port", String(daemon.chatPort)]);
    await tty.output(/login( \[\w+\])?: /);
    tty.proc.stdin!.write("bob\r");
    await tty.output("new password: ");
    tty.proc.stdin!.write("pw-of-bob\r");
    await tty.output("repeat password: ");
    tty.proc.stdin!.write("pw-of-bob\r");
    await tty.output("* 2 online: alice, bob");
    await alice.line("* bob joined");
    await screenEndsWith(tty, ">");

    tty.proc.stdin!.write("hal");
    await screenEndsWith(tty, "> hal");
    alice.send("incoming!");
    await tty.output("incoming!");
    await screenEndsWith(tty, "> hal");
    const screen = render(tty.stdout());
    t.is(screen.at(-2), "<alice> incoming!", "the incoming line has a row of its own, above the prompt");
    t.is(screen.filter((row) => row.includes("hal")).length, 1, "no stale copy of the half line");

    tty.proc.stdin!.write("f done\r");
    t.is(await alice.next(), "<bob> half done");
    await screenEndsWith(tty, ">");
    t.deepEqual(render(tty.stdout()).slice(-3), ["<alice> incoming!", "> half done", ">"]);

    t.false(tty.stdout().includes("pw-of-bob"), "the password was never shown");
    t.regex(tty.stdout(), /\x1b\[\d+m<alice>\x1b\[0m incoming!/, "the name is coloured on a terminal");

    tty.proc.stdin!.write("/quit\r");
    t.is(await tty.exited, 0);
    t.true(render(tty.stdout()).includes("* bye"));
    await alice.line("* bob left");
  },
);

test.serial(
  "tty - signing in: the password prompt hides typing; Ctrl-C exits 0; NO_COLOR is plain",
  async (t) => {
    const erin = await ChatClient.connect(daemon.chatPort);
    await erin.register("erin", "pw-of-erin");
    erin.close();
    const tty = onTerminal(["--port", String(daemon.chatPort)], { NO_COLOR: "1" });
    await tty.output(/login( \[\w+\])?: /);
    tty.proc.stdin!.write("erin\r");
    await tty.output("password: ");
    // Typed in two parts; however they arrive, no character of either may reach the screen.
    tty.proc.stdin!.write("pw-of");
    tty.proc.stdin!.write("-erin\r");
    await tty.output(/\* \d online: .*erin/);
    t.false(tty.stdout().includes("pw-of"), "no typed password character reached the screen");
    t.false(tty.stdout().includes("\x1b[0m"), "no colour with NO_COLOR");
    tty.proc.stdin!.write("\x03");
    t.is(await tty.exited, 0);
  },
);

test.serial("tty - echo: a typed line comes back below it; Ctrl-D exits 0", async (t) => {
  const tty = onTerminal(["--echo", "--port", String(daemon.echoPort)]);
  await screenEndsWith(tty, ">");
  tty.proc.stdin!.write("ping\r");
  await tty.output((out) => render(out).includes("ping"));
  await screenEndsWith(tty, ">");
  t.deepEqual(render(tty.stdout()).slice(-3), ["> ping", "ping", ">"], "line and echo on rows of their own");
  tty.proc.stdin!.write("\x04");
  t.is(await tty.exited, 0);
});
