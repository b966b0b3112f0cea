import type { Options } from "yargs";
import type { CtlCommand } from "./command.ts";
import { closest } from "./suggest.ts";

/** A command's first word: "identities" of "identities <action> [name]". */
export function commandName(cmd: CtlCommand): string {
  return cmd.command.split(" ")[0]!;
}

/** How a person writes a command's arguments: "identities list|wipe|remove|reset [NAME]". */
export function synopsis(cmd: CtlCommand): string {
  return cmd.command
    .split(" ")
    .map((word, i) => {
      if (i === 0) return word;
      const match = /^([<[])(\w+)(\.\.)?[>\]]$/.exec(word);
      if (!match) return word;
      const [, bracket, name, rest] = match;
      const choices = cmd.positionals?.[name!]?.choices as readonly string[] | undefined;
      const shown = choices ? choices.join("|") : `${name!.toUpperCase()}${rest ? "..." : ""}`;
      return bracket === "[" ? `[${shown}]` : shown;
    })
    .join(" ");
}

/** The flags (with their dashes) that take the next word as their value, e.g. --socket, -n. */
export function valueFlags(options: readonly Record<string, Options>[]): Set<string> {
  const flags = new Set<string>();
  for (const table of options) {
    for (const [name, spec] of Object.entries(table)) {
      if (spec.type === "boolean" || spec.count) continue;
      const aliases = spec.alias === undefined ? [] : [spec.alias].flat();
      for (const each of [name, ...aliases]) flags.add(dashed(each));
    }
  }
  return flags;
}

/** The words of a line that are not options nor options' values: the command and its arguments. */
export function positionalWords(argv: readonly string[], flags: ReadonlySet<string>): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (flags.has(word)) i++;
    else if (!word.startsWith("-") || /^-\d/.test(word)) words.push(word);
  }
  return words;
}

/** The command a line names: its first word, when that is a command's name. */
export function commandOf(words: readonly string[], commands: readonly CtlCommand[]): CtlCommand | undefined {
  return commands.find((cmd) => words[0] === commandName(cmd));
}

/**
 * usageMessage turns yargs' complaint about a line into one line in the user's terms: which
 * command, what is wrong, and how it is written ("kick: missing NAME: tsctl kick NAME [REASON...]").
 */
export function usageMessage(
  message: string,
  argv: readonly string[],
  commands: readonly CtlCommand[],
  globals: Record<string, Options>,
): string {
  const flat = message.replace(/\s*\n\s*/g, " ").trim();
  const words = positionalWords(argv, valueFlags([globals, ...commands.map((c) => c.options ?? {})]));
  const cmd = commandOf(words, commands);
  const unknown = /^Unknown arguments?: (.+)$/.exec(flat);
  if (!cmd) {
    const typo = words[0];
    if (typo !== undefined && unknown) {
      const guess = closest(typo, commands.map(commandName));
      return `unknown command "${cut(typo)}"${guess ? `; did you mean \`${guess}\`?` : ""} (tsctl --help lists them)`;
    }
    if (unknown) return `unknown option ${shownArguments(unknown[1]!, argv)} (tsctl --help lists them)`;
    return flat;
  }
  const name = commandName(cmd);
  const usage = `usage: tsctl ${synopsis(cmd)}`;
  if (/^(Not enough non-option arguments|Missing required argument)/.test(flat))
    return `${name}: an argument is missing; ${usage}`;
  if (unknown) {
    const options = unknown[1]!.split(", ").filter((word) => argv.some((a) => isFlag(a, word)));
    const kind = options.length ? "unknown option" : "unexpected argument";
    return `${name}: ${kind} ${shownArguments(unknown[1]!, argv)}; ${usage} (--help lists its options)`;
  }
  const following = /^Not enough arguments following: (\S+)$/.exec(flat);
  if (following) return `${name}: ${dashed(following[1]!)} needs a value`;
  const invalid = /^Invalid values: Argument: (\S+), Given: (.+), Choices: (.+)$/.exec(flat);
  if (invalid) return `${name}: ${invalid[2]} is not one of ${invalid[3]!.replaceAll('"', "")}; ${usage}`;
  return `${name}: ${flat}`;
}

function isFlag(arg: string, name: string): boolean {
  return arg === dashed(name) || arg.startsWith(`${dashed(name)}=`) || arg === `-${name}`;
}

function dashed(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** yargs' list of unknown arguments ("force, extra") as typed: --force "extra". */
function shownArguments(list: string, argv: readonly string[]): string {
  return cut(
    list
      .split(", ")
      .map((word) => argv.find((a) => isFlag(a, word))?.split("=")[0] ?? `"${word}"`)
      .join(", "),
  );
}

/** The longest piece of what was typed that a message repeats: a pasted page stays one short line. */
const MAX_SHOWN = 60;

function cut(text: string): string {
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN)}...`;
}
