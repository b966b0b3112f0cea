import type { Argv, Options, PositionalOptions } from "yargs";
import type { ControlClient } from "./control-client.ts";

/** What a command gets to do its work: the connection (opened on first use) and the output. */
export interface CtlContext {
  client(): Promise<ControlClient>;
  /** Closes the connection (after a follow, say); the next client() opens a new one. */
  dropClient(): void;
  json: boolean;
  out(text: string): void;
  err(text: string): void;
  /** True when stdin is a terminal a person can answer on. */
  interactive: boolean;
  /** Asks a yes/no question on the terminal. */
  confirm(question: string): Promise<boolean>;
  /**
   * Resolves when done resolves or the user presses Ctrl-C, whichever is first. From here on
   * --timeout no longer bounds the command: it follows until the user stops it.
   */
  untilInterrupted(done: Promise<void>): Promise<void>;
  /** --timeout, in ms. */
  timeoutMs: number;
  /** Aborted when --timeout runs out: a command's own waits (a poll, a sleep) end with it. */
  signal: AbortSignal;
  /** Gives the command ms more than --timeout (stop: the grace it asked the daemon for). */
  extendTimeout(ms: number): void;
}

/** A command's arguments as yargs parsed them (options already coerced: durations in ms). */
export type CtlArgs = Record<string, unknown>;

/**
 * One tsctl subcommand, in its own file under ctl/commands/. Its arguments and options are
 * data (positionals, options) so the help, the completion and the man page come from them.
 */
export interface CtlCommand {
  /** yargs' form: the name, then <required> and [optional] arguments, e.g. "kick <name> [reason..]". */
  command: string;
  describe: string;
  positionals?: Record<string, PositionalOptions>;
  options?: Record<string, Options>;
  /** Anything the tables above cannot say. */
  builder?: (yargs: Argv) => Argv;
  /** Checks what yargs cannot (an argument one action needs and another refuses); throws UsageError. Sends nothing. */
  check?(args: CtlArgs): void;
  run(ctx: CtlContext, args: CtlArgs): Promise<void>;
}

export function printJson(ctx: CtlContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}

/** The words of a [rest..] argument as one text, or undefined when none were given. */
export function restText(value: unknown): string | undefined {
  const words = Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
  return words.length ? words.join(" ") : undefined;
}

/** "1 user", "2 users". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
