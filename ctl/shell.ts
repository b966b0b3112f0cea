import readline from "node:readline";
import type { Readable, Writable } from "node:stream";
import { COMMANDS, type CtlIo, type CtlSession, runCli } from "./cli.ts";
import { CtlError } from "./errors.ts";
import { splitWords } from "./words.ts";

export const SHELL_PROMPT = "tsd> ";

const SUBCOMMANDS: Record<string, string[]> = {
  logs: ["clear", "reopen", "-n", "-f"],
  identities: ["list", "wipe"],
  stop: ["--grace"],
};
const WORDS = [...COMMANDS.map((c) => c.command.split(" ")[0]!), "help", "exit"].sort();

function complete(line: string): [string[], string] {
  const words = line.split(/\s+/);
  if (words.length <= 1) {
    const hits = WORDS.filter((w) => w.startsWith(line));
    return [hits.length ? hits : WORDS, line];
  }
  const last = words.at(-1)!;
  const options = [...(SUBCOMMANDS[words[0]!] ?? []), "--json"];
  return [options.filter((w) => w.startsWith(last)), last];
}

function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.command.length));
  return [
    ...COMMANDS.map((c) => `  ${c.command.padEnd(width)}  ${c.describe}`),
    `  ${"help".padEnd(width)}  this list`,
    `  ${"exit".padEnd(width)}  leave the shell (or Ctrl-D)`,
    "Every command takes --json; `COMMAND --help` tells more.",
  ].join("\n");
}

export interface ShellOptions {
  input: Readable;
  output: Writable;
  errors: Writable;
  terminal: boolean;
  session: CtlSession;
}

/**
 * The tsctl shell: the same commands as the command line, one per line, over one
 * connection. On a terminal it prompts "tsd> " with line editing, history and tab
 * completion; from a pipe it reads to the end of its input and exits 0.
 */
export async function runShell(opts: ShellOptions): Promise<number> {
  const rl = readline.createInterface({
    input: opts.input,
    output: opts.terminal ? opts.output : undefined,
    terminal: opts.terminal,
    prompt: SHELL_PROMPT,
    historySize: 500,
    completer: opts.terminal ? complete : undefined,
  });
  const lines: string[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  let answer: ((line: string) => void) | null = null;
  let interrupt: (() => void) | null = null;
  rl.on("line", (line) => {
    if (answer) {
      const give = answer;
      answer = null;
      give(line);
      return;
    }
    lines.push(line);
    wake?.();
  });
  rl.on("close", () => {
    ended = true;
    answer?.("");
    interrupt?.();
    wake?.();
  });
  rl.on("SIGINT", () => {
    if (interrupt) {
      interrupt();
      return;
    }
    opts.output.write("^C (exit or Ctrl-D leaves the shell)\n");
    rl.prompt();
  });

  const io: CtlIo = {
    out: (text) => opts.output.write(`${text}\n`),
    err: (text) => opts.errors.write(`${text}\n`),
    interactive: opts.terminal,
    confirm: (question) =>
      new Promise((resolve) => {
        opts.output.write(question);
        answer = (line) => resolve(/^y(es)?$/i.test(line.trim()));
      }),
    interrupted: () =>
      new Promise((resolve) => {
        interrupt = () => {
          interrupt = null;
          resolve();
        };
      }),
  };

  if (opts.terminal) rl.prompt();
  for (;;) {
    if (lines.length === 0) {
      if (ended) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
      continue;
    }
    const line = lines.shift()!.trim();
    if (line === "exit" || line === "quit") break;
    if (line === "help" || line === "?") io.out(helpText());
    else if (line !== "") {
      try {
        await runCli(splitWords(line), io, opts.session);
      } catch (error) {
        io.err(`tsctl: ${error instanceof CtlError ? error.message : String(error)}`);
      }
      interrupt = null;
    }
    if (opts.terminal && !ended) rl.prompt();
  }
  rl.close();
  return 0;
}
