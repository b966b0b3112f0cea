import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { type RunningDaemon, startDaemon, waitFor } from "../helpers/daemon.ts";
import { displayWidth, renderScreen } from "./screen.ts";
import { type Running, run, TSCHAT } from "./tschat.ts";

let daemon: RunningDaemon;
let alice: ChatClient;
let tty: Running;

const KEY = {
  left: "\x1b[D",
  right: "\x1b[C",
  home: "\x1b[H",
  end: "\x1b[F",
  delete: "\x1b[3~",
  backspace: "\x7f",
  enter: "\r",
} as const;

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

test.before(async () => {
  daemon = await startDaemon(["--workers", "1", "--threads", "1", "--flood-rate", "0"]);
  alice = await ChatClient.connect(daemon.chatPort);
  await alice.register("alice", "secret1");
  const command = `stty cols 80 rows 24; exec ${[process.execPath, TSCHAT, "--port", String(daemon.chatPort)].map(quote).join(" ")}`;
  tty = run("script", ["-qfec", command, "/dev/null"], { ...process.env, TERM: "xterm" });
  await tty.output(/login( \[\w+\])?: /);
  tty.proc.stdin!.write("bob\r");
  await tty.output("new password: ");
  tty.proc.stdin!.write("pw-of-bob\r");
  await tty.output("repeat password: ");
  tty.proc.stdin!.write("pw-of-bob\r");
  await tty.output("* 2 online: alice, bob");
  await alice.line("* bob joined");
});
test.after.always(async () => {
  tty?.proc.kill();
  alice?.close();
  await daemon?.cleanup();
});

function width(text: string): number {
  let cells = 0;
  for (const char of text) cells += displayWidth(char);
  return cells;
}

/** Waits until the input row reads "> " + text with the cursor after the first `at` characters of it. */
async function inputShows(text: string, at: number): Promise<void> {
  const wanted = { row: `> ${text}`.trimEnd(), col: 2 + width([...text].slice(0, at).join("")) };
  await waitFor(
    () => {
      const screen = renderScreen(tty.stdout());
      const row = screen.rows[screen.cursor.row];
      return (
        row === wanted.row && screen.cursor.col === wanted.col && screen.cursor.row === screen.rows.length - 1
      );
    },
    10_000,
    `the input row ${JSON.stringify(wanted.row)} with the cursor at column ${wanted.col}; screen: ${JSON.stringify(renderScreen(tty.stdout()))}`,
  );
}

let incoming = 0;
/** A line from alice arrives while bob is editing; it is shown above the input, which is redrawn. */
async function lineArrives(): Promise<string> {
  const text = `incoming ${++incoming}`;
  alice.send(text);
  await tty.output((out) => renderScreen(out).rows.includes(`<alice> ${text}`));
  return text;
}

/**
 * Types each step's keys; after each one a line arrives, and the input row must show what
 * the step expects (text, and the cursor after `at` characters). Then Enter: what was sent
 * must be what the screen showed, and the screen must keep it above a fresh prompt.
 */
async function edit(
  steps: [keys: string, text: string, at: number][],
): Promise<{ shown: string; sent: string }> {
  for (const [keys, text, at] of steps) {
    tty.proc.stdin!.write(keys);
    await inputShows(text, at);
    await lineArrives();
    await inputShows(text, at);
  }
  const shown = renderScreen(tty.stdout()).rows.at(-1)!.slice(2);
  tty.proc.stdin!.write(KEY.enter);
  const sent = (await alice.line(/^<bob> /)).slice("<bob> ".length);
  await inputShows("", 0);
  return { shown, sent };
}

test.serial(
  "redraw - insert mid-line, Backspace, Left, while lines arrive (abc, Left Left, X, Backspace, Y)",
  async (t) => {
    const result = await edit([
      ["abc", "abc", 3],
      [KEY.left, "abc", 2],
      [KEY.left, "abc", 1],
      ["X", "aXbc", 2],
      [KEY.backspace, "abc", 1],
      ["Y", "aYbc", 2],
    ]);
    t.deepEqual(result, { shown: "aYbc", sent: "aYbc" });
    t.true(renderScreen(tty.stdout()).rows.includes("> aYbc"), "the sent line stays on the screen as typed");
  },
);

test.serial("redraw - insert at the start (hello, Home, Z), End, Delete, Right", async (t) => {
  const result = await edit([
    ["hello", "hello", 5],
    [KEY.home, "hello", 0],
    ["Z", "Zhello", 1],
    [KEY.right + KEY.right, "Zhello", 3],
    [KEY.delete, "Zhelo", 3],
    [KEY.end, "Zhelo", 5],
    ["!", "Zhelo!", 6],
  ]);
  t.deepEqual(result, { shown: "Zhelo!", sent: "Zhelo!" });
});

test.serial("redraw - wide characters: CJK and emoji take two columns; edits around them", async (t) => {
  const result = await edit([
    ["日本語", "日本語", 3],
    [KEY.left + KEY.left, "日本語", 1],
    ["X", "日X本語", 2],
    [KEY.end, "日X本語", 4],
    ["😀a", "日X本語😀a", 6],
    [KEY.left, "日X本語😀a", 5],
    [KEY.backspace, "日X本語a", 4],
    [KEY.home + KEY.delete, "X本語a", 0],
    ["é", "éX本語a", 1],
  ]);
  t.deepEqual(result, { shown: "éX本語a", sent: "éX本語a" });
});
