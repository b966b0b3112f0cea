import { execFileSync } from "node:child_process";
import test, { type ExecutionContext } from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, startDaemon, waitFor } from "../helpers/daemon.ts";
import { findProgram } from "../client-pty/clients.ts";
import { TSCHAT } from "./tschat.ts";

/**
 * A paste into tschat: the terminal sends the whole text in one read, and Node's readline then
 * writes every key of it but the last without redrawing, losing track of the row the cursor is
 * on. These tests paste into tschat running in tmux (a real terminal, which wraps lines, unlike
 * the renderer of redraw.test.ts) at 40 columns and compare what tmux shows with what was sent.
 */
const COLUMNS = 40;
const tmux = findProgram("tmux");
const serial = tmux ? test.serial : test.serial.skip;
const why = tmux ? "" : " (skipped: tmux is not installed; Debian package tmux)";

let daemon: RunningDaemon;
let alice: ChatClient;
const server = `tsd-paste-${process.pid}`;

function run(...args: string[]): string {
  return execFileSync(tmux!, ["-L", server, ...args], { encoding: "utf8" });
}

/** The screen's rows as tmux shows them, trailing blanks trimmed and blank rows at the end dropped. */
function screen(): string[] {
  const rows = run("capture-pane", "-p", "-t", "chat")
    .split("\n")
    .map((r) => r.trimEnd());
  while (rows.length > 0 && rows.at(-1) === "") rows.pop();
  return rows;
}

/** The input "> " + text as the terminal wraps it at COLUMNS (no wide characters in these tests). */
function wrapped(text: string): string[] {
  const line = `> ${text}`;
  const rows: string[] = [];
  for (let i = 0; i < line.length; i += COLUMNS) rows.push(line.slice(i, i + COLUMNS).trimEnd());
  return rows;
}

/** Waits until the last rows of the screen are the input, wrapped, and no other row shows an input. */
async function inputShows(t: ExecutionContext, text: string): Promise<void> {
  const want = wrapped(text);
  await waitFor(
    () => {
      const rows = screen();
      return JSON.stringify(rows.slice(-want.length)) === JSON.stringify(want);
    },
    30_000,
    `the input ${JSON.stringify(want)} at the bottom; screen: ${JSON.stringify(screen())}`,
  );
  const rows = screen();
  const inputs = rows.filter((r) => r.startsWith("> "));
  t.deepEqual(inputs, [want[0]], `one input on the screen, no stale copy: ${JSON.stringify(rows)}`);
}

function keys(...k: string[]): void {
  run("send-keys", "-t", "chat", ...k);
}

/** The text arrives at tschat in one read, as a terminal's paste does. */
function paste(text: string): void {
  run("send-keys", "-t", "chat", "-l", text);
}

if (tmux) {
  test.before(async () => {
    daemon = await startDaemon(["--workers", "1", "--threads", "1", "--flood-rate", "0"]);
    alice = await ChatClient.connect(daemon.chatPort);
    await alice.register("alice", "secret1");
    const command = [process.execPath, TSCHAT, "--port", String(daemon.chatPort)]
      .map((a) => `'${a.replaceAll("'", "'\\''")}'`)
      .join(" ");
    run(
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-s",
      "chat",
      "-x",
      String(COLUMNS),
      "-y",
      "20",
      `exec ${command}`,
    );
    const prompt = async (text: string) =>
      waitFor(
        () => screen().at(-1)?.endsWith(text.trimEnd()),
        30_000,
        `${text}; screen: ${JSON.stringify(screen())}`,
      );
    await prompt("login [alice]:");
    keys("bob", "Enter");
    await prompt("new password:");
    keys("pw-of-bob", "Enter");
    await prompt("repeat password:");
    keys("pw-of-bob", "Enter");
    await alice.line("* bob joined");
    await waitFor(() => screen().at(-1) === ">", 30_000, "the chat prompt");
  });
  test.after.always(async () => {
    try {
      run("kill-server");
    } catch {}
    alice?.close();
    await daemon?.cleanup();
  });
}

/** A clear screen (readline's Ctrl-L) with an empty input, so each test sees only its own. */
async function clearScreen(): Promise<void> {
  keys("C-l");
  await waitFor(() => JSON.stringify(screen()) === JSON.stringify([">"]), 30_000, "a clear screen");
}

const LONG = "pasted text that is longer than the forty columns of this terminal";

serial(
  `paste - a pasted line that wraps, then Home and an insert: drawn where it is, as sent${why}`,
  async (t) => {
    await clearScreen();
    paste(LONG);
    await inputShows(t, LONG);
    keys("Home");
    paste("Z");
    await inputShows(t, `Z${LONG}`);
    alice.send("a line arrives meanwhile");
    await waitFor(() => screen().includes("<alice> a line arrives meanwhile"), 30_000, "alice's line");
    await inputShows(t, `Z${LONG}`);
    keys("Enter");
    t.is(await alice.line(/^<bob> /), `<bob> Z${LONG}`);
  },
);

serial(`paste - a paste in the middle of a line that then wraps: drawn as sent${why}`, async (t) => {
  await clearScreen();
  paste("hello world");
  await inputShows(t, "hello world");
  keys("Left", "Left", "Left", "Left", "Left");
  paste(`${LONG} `);
  await inputShows(t, `hello ${LONG} world`);
  keys("End");
  paste("!");
  await inputShows(t, `hello ${LONG} world!`);
  keys("Enter");
  t.is(await alice.line(/^<bob> /), `<bob> hello ${LONG} world!`);
});
