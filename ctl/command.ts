import type { Argv } from "yargs";
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
  /** Resolves when done resolves or the user presses Ctrl-C, whichever is first. */
  untilInterrupted(done: Promise<void>): Promise<void>;
}

/** One tsctl subcommand, in its own file under ctl/commands/. */
export interface CtlCommand {
  command: string;
  describe: string;
  builder?: (yargs: Argv) => Argv;
  run(ctx: CtlContext, args: Record<string, unknown>): Promise<void>;
}

export function printJson(ctx: CtlContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}
