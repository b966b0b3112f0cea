import readline from "node:readline";
import { entryFile } from "../shared/entry-file.ts";
import type { Log } from "./log/logger.ts";

/** What the console needs of the tsctl shell, which is loaded only when --console asks for it. */
interface ConsoleShell {
  runShell(opts: {
    input: NodeJS.ReadableStream;
    output: NodeJS.WritableStream;
    errors: NodeJS.WritableStream;
    terminal: boolean;
    session: { defaults: string[] };
    onReadline?: (rl: readline.Interface) => void;
  }): Promise<number>;
}

/** Sends the log's stdout lines to print (null: back to stdout). */
export type DivertLog = (print: ((line: string) => void) | null) => void;

/**
 * A printer of log lines above the line being typed, as tschat prints server lines
 * (client/terminal.ts): while the prompt shows, the prompt and the half-typed text (which may
 * wrap over rows) are wiped, the log line written, and both drawn again with the cursor where
 * it was; while a command runs and no prompt shows, the line is just written.
 */
export function aboveThePrompt(rl: readline.Interface, out: NodeJS.WriteStream): (line: string) => void {
  let prompting = false;
  const prompt = rl.prompt.bind(rl);
  rl.prompt = (preserveCursor?: boolean) => {
    prompting = true;
    prompt(preserveCursor);
  };
  rl.on("line", () => {
    prompting = false;
  });
  rl.on("close", () => {
    prompting = false;
  });
  return (line) => {
    if (!prompting) {
      out.write(`${line}\n`);
      return;
    }
    readline.moveCursor(out, 0, -rl.getCursorPos().rows);
    readline.cursorTo(out, 0);
    readline.clearScreenDown(out);
    out.write(`${line}\n`);
    // readline moves up by the rows it drew last time before it redraws; the wipe did that.
    (rl as unknown as { prevRows: number }).prevRows = 0;
    prompt(true);
  };
}

/**
 * The operator's console: the tsctl shell on the daemon's own terminal, talking to its own
 * socket, with the log's lines drawn above the line being typed. It never rejects: a console
 * that fails is logged and the daemon goes on.
 */
export async function startConsole(socketPath: string, log: Log, divert: DivertLog): Promise<void> {
  if (!process.stdin.isTTY) {
    log("warn", "--console needs a terminal on stdin; no console");
    return;
  }
  try {
    const { runShell } = (await import(entryFile("../../ctl/shell", import.meta.url).href)) as ConsoleShell;
    await runShell({
      input: process.stdin,
      output: process.stdout,
      errors: process.stderr,
      terminal: true,
      session: { defaults: ["--socket", socketPath] },
      onReadline: (rl) => divert(aboveThePrompt(rl, process.stdout)),
    });
  } catch (error) {
    log("error", `the console failed; the daemon goes on: ${String(error)}`);
    return;
  } finally {
    divert(null);
  }
  process.stdin.pause();
  log("info", "console closed; the daemon goes on (tsctl stop ends it)");
}
