import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, shape, startDaemon, UNLIMITED_CHAT } from "../helpers/daemon.ts";
import { render } from "./screen.ts";
import { type Running, run, TSCHAT } from "./tschat.ts";

let daemon: RunningDaemon;
const clients: ChatClient[] = [];

test.before(async () => {
  daemon = await startDaemon([...shape(1, 1), ...UNLIMITED_CHAT]);
});
test.after.always(async () => {
  for (const c of clients) c.close();
  await daemon?.cleanup();
});

async function user(name: string): Promise<ChatClient> {
  const c = await ChatClient.connect(daemon.chatPort);
  clients.push(c);
  await c.register(name, "secret1");
  return c;
}

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** tschat on a pseudo-terminal of 80x24 (util-linux script); stdin is the keyboard. */
function onTerminal(args: string[]): Running {
  const command = `stty cols 80 rows 24; exec ${[process.execPath, TSCHAT, ...args].map(quote).join(" ")}`;
  return run("script", ["-qfec", command, "/dev/null"], { ...process.env, TERM: "xterm" });
}

/** Waits until a row of the rendered screen (colours left out) contains text. */
async function shows(tty: Running, text: string): Promise<void> {
  await tty.output((out) => render(out).some((row) => row.includes(text)));
}

async function screenEndsWith(tty: Running, text: string): Promise<void> {
  await tty.output((out) => render(out).at(-1) === text);
}

test("tty - away users stand out; Tab completes names after /msg, /whois, /ignore and in /r", async (t) => {
  const alice = await user("alice");
  const bart = await user("bartholomew");
  bart.send("/away fishing");
  await bart.line("* you are marked away: fishing");

  const tty = onTerminal(["--port", String(daemon.chatPort)]);
  await tty.output(/login( \[\w+\])?: /);
  tty.proc.stdin!.write("tina\r");
  await tty.output("new password: ");
  tty.proc.stdin!.write("pw-of-tina\r");
  await tty.output("repeat password: ");
  tty.proc.stdin!.write("pw-of-tina\r");
  await shows(tty, "* 3 online: alice, bartholomew (away), tina");
  t.true(tty.stdout().includes("\x1b[33m(away)"), "(away) in its own colour");
  await screenEndsWith(tty, ">");

  tty.proc.stdin!.write("/msg bar\t");
  await screenEndsWith(tty, "> /msg bartholomew");
  tty.proc.stdin!.write("hi there\r");
  t.is(await bart.line(/^\*tina\* /), "*tina* hi there", "the completed name and a space, then the text");
  await shows(tty, "* bartholomew is away: fishing");

  tty.proc.stdin!.write("/whois AL\t");
  await screenEndsWith(tty, "> /whois alice");
  tty.proc.stdin!.write("\r");
  await shows(tty, "* alice is online since");

  alice.send("/msg tina ping");
  await shows(tty, "*alice* ping");
  tty.proc.stdin!.write("/r thanks al\t");
  await screenEndsWith(tty, "> /r thanks alice");
  tty.proc.stdin!.write("\r");
  t.is(await alice.line(/^\*tina\* /), "*tina* thanks alice");

  tty.proc.stdin!.write("/ignore b\t");
  await screenEndsWith(tty, "> /ignore bartholomew");
  tty.proc.stdin!.write("\r");
  await shows(tty, "* ignoring bartholomew (they are not told)");

  tty.proc.stdin!.write("/quit\r");
  t.is(await tty.exited, 0);
});
