import os from "node:os";
import readline from "node:readline";
import type { Readable, Writable } from "node:stream";
import {
  COMMANDS,
  type CtlIo,
  type CtlSession,
  GLOBAL_OPTIONS,
  runCli,
  socketFlag,
  socketPathsFor,
} from "./cli.ts";
import { completions } from "./complete.ts";
import { daemonCompletionSource } from "./completion-source.ts";
import { CtlError, ExitCode } from "./errors.ts";
import { HISTORY_LINES, historyPath, loadHistory, saveHistory } from "./history.ts";
import { synopsis } from "./usage.ts";
import { splitWords } from "./words.ts";

export const SHELL_PROMPT = "tsd> ";
const SHELL_WORDS = ["help", "exit"];

function helpText(): string {
  const rows = [
    ...COMMANDS.map((c) => [synopsis(c), c.describe] as const),
    ["help", "this list"] as const,
    ["exit", "leave the shell (or Ctrl-D)"] as const,
  ];
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    "Every command takes --json; `COMMAND --help` tells more.",
  ].join("\n");
}

export interface ShellOptions {
  input: Readable;
  output: Writable;
  errors: Writable;
  terminal: boolean;
  session: CtlSession;
  /** The history file; default the user's state directory's tsctl_history; null keeps none. */
  historyFile?: string | null;
  /** Given the shell's readline once it exists (the daemon's console draws log lines above its prompt). */
  onReadline?: (rl: readline.Interface) => void;
}

/**
 * The tsctl shell: the same commands as the command line, one per line, over one
 * connection. On a terminal it prompts "tsd> " with line editing, history kept between runs,
 * and Tab completion (commands, actions, options, user names from the daemon); Ctrl-C discards
 * the line being typed. From a pipe it reads to the end of its input and answers with the exit
 * code of the first command that failed (0 if none).
 */
export async function runShell(opts: ShellOptions): Promise<number> {
  const defaults = opts.session.defaults ?? [];
  const source = daemonCompletionSource(socketPathsFor(socketFlag(defaults)));
  let historyFile =
    opts.historyFile === undefined
      ? opts.terminal
        ? historyPath(process.env, os.homedir())
        : null
      : opts.historyFile;
  const saved = historyFile ? loadHistory(historyFile) : [];
  const rl = readline.createInterface({
    input: opts.input,
    output: opts.terminal ? opts.output : undefined,
    terminal: opts.terminal,
    prompt: SHELL_PROMPT,
    historySize: HISTORY_LINES,
    // readline's history is newest first.
    history: [...saved].reverse(),
    removeHistoryDuplicates: false,
    completer: opts.terminal
      ? (line: string, callback: (error: Error | null, result: [string[], string]) => void) => {
          let words: string[];
          try {
            words = splitWords(line);
          } catch {
            return callback(null, [[], line]);
          }
          const current = /\s$/.test(line) || line === "" ? "" : (words.pop() ?? "");
          completions(words, current, COMMANDS, GLOBAL_OPTIONS, source, SHELL_WORDS).then(
            (hits) => callback(null, [hits, current]),
            () => callback(null, [[], current]),
          );
        }
      : undefined,
  });
  opts.onReadline?.(rl);
  const history = [...saved];
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
    // Ctrl-D on an empty line: end the prompt's line, as a shell does.
    if (opts.terminal && !ended) opts.output.write("\n");
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
    // Ctrl-C discards the line being typed, as in bash: a fresh prompt, the shell goes on.
    const edited = rl as unknown as { line: string; cursor: number };
    edited.line = "";
    edited.cursor = 0;
    opts.output.write("^C\n");
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

  let firstFailure: number = ExitCode.ok;
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
    if (line !== "" && historyFile) {
      history.push(line);
      const error = saveHistory(historyFile, history.slice(-HISTORY_LINES));
      if (error) {
        io.err(`tsctl: history not kept (${historyFile}): ${error.message}`);
        historyFile = null;
      }
    }
    if (line === "exit" || line === "quit") break;
    let code: number = ExitCode.ok;
    if (line === "help" || line === "?") io.out(helpText());
    else if (line !== "") {
      try {
        code = await runCli(splitWords(line), io, opts.session);
      } catch (error) {
        io.err(`tsctl: ${error instanceof CtlError ? error.message : String(error)}`);
        code = error instanceof CtlError ? error.exitCode : ExitCode.daemonError;
      }
      interrupt = null;
    }
    if (firstFailure === ExitCode.ok) firstFailure = code;
    if (opts.terminal && !ended) rl.prompt();
  }
  rl.close();
  return opts.terminal ? ExitCode.ok : firstFailure;
}
