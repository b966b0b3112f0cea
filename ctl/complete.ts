import type { Options } from "yargs";
import type { CtlCommand } from "./command.ts";
import { commandName, positionalWords, valueFlags } from "./usage.ts";

/** What completion may ask the daemon, each answering [] when it cannot (not running, too slow). */
export interface CompletionSource {
  /** The users online (users.list). */
  userNames(): Promise<string[]>;
  /** Every account (identities.list). */
  accountNames(): Promise<string[]>;
  configKeys(): Promise<string[]>;
}

/** The commands whose first argument is a user's name (or, for ban, may be). */
const TAKES_A_USER = new Set(["kick", "mute", "unmute", "ban"]);

function flagsOf(tables: readonly Record<string, Options>[]): string[] {
  return tables.flatMap((table) =>
    Object.entries(table).flatMap(([name, spec]) => {
      const names = [name, ...(spec.alias === undefined ? [] : [spec.alias].flat())];
      const flags = names.map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
      return spec.type === "boolean" && spec.default === true ? [...flags, `--no-${name}`] : flags;
    }),
  );
}

/**
 * The words that can follow `before` (the complete words typed so far) and start with
 * `current`: command names first, then a command's actions, a user's or an option's name, then
 * its flags. The shell's Tab and `tsctl completion` both ask it.
 */
export async function completions(
  before: readonly string[],
  current: string,
  commands: readonly CtlCommand[],
  globals: Record<string, Options>,
  source: CompletionSource,
  extraCommands: readonly string[] = [],
): Promise<string[]> {
  const flags = valueFlags([globals, ...commands.map((c) => c.options ?? {})]);
  // The value of --socket, --grace, ...: nothing to offer (the shell completes files).
  if (flags.has(before.at(-1) ?? "")) return [];
  const words = positionalWords(before, flags);
  const matching = (list: readonly string[]) =>
    [...new Set(list)].filter((w) => w.startsWith(current)).sort();
  if (words.length === 0) {
    if (current.startsWith("-")) return matching(flagsOf([globals]));
    return matching([...commands.map(commandName), ...extraCommands]);
  }
  const cmd = commands.find((c) => commandName(c) === words[0]);
  if (!cmd) return [];
  if (current.startsWith("-")) return matching(flagsOf([cmd.options ?? {}, globals]));
  const argIndex = words.length - 1;
  const positional = cmd.command
    .split(" ")
    .slice(1)
    .map((w) => /^[<[](\w+)/.exec(w)?.[1])[argIndex];
  const choices = positional
    ? (cmd.positionals?.[positional]?.choices as readonly string[] | undefined)
    : undefined;
  if (choices) return matching(choices);
  if (argIndex === 0 && TAKES_A_USER.has(words[0]!)) return matching(await source.userNames());
  if (words[0] === "identities" && argIndex === 1 && ["remove", "reset"].includes(words[1]!))
    return matching(await source.accountNames());
  if (words[0] === "config" && argIndex === 1) return matching(await source.configKeys());
  return [];
}
