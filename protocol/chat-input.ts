/**
 * Parsing of what a signed-in user types: a chat message or a /command. The commands
 * themselves are a table in the session thread (daemon/thread/chat/commands.ts).
 */

export type Input = { kind: "message"; text: string } | { kind: "command"; name: string; args: string };

const SPACE = /\s/u;

/** indexOfSpace returns the index of the first whitespace character at or after from, or -1. */
function indexOfSpace(s: string, from: number): number {
  for (let i = from; i < s.length; i++) if (SPACE.test(s[i]!)) return i;
  return -1;
}

/**
 * parseInput reads a (sanitised) line: `//text` is the message `/text`, `/word rest` is a
 * command with its name lower-cased and leading whitespace trimmed from its args, and
 * anything else is a message as typed.
 */
export function parseInput(line: string): Input {
  if (line.charCodeAt(0) !== 0x2f) return { kind: "message", text: line };
  if (line.charCodeAt(1) === 0x2f) return { kind: "message", text: line.slice(1) };
  const sp = indexOfSpace(line, 1);
  if (sp === -1) return { kind: "command", name: line.slice(1).toLowerCase(), args: "" };
  return { kind: "command", name: line.slice(1, sp).toLowerCase(), args: line.slice(sp).trimStart() };
}

export const HISTORY_DEFAULT = 20;
export const HISTORY_MAX = 500;

/** parseHistoryCount reads the N of `/history [N]`: default 20, capped at 500, null when N is not a number. */
export function parseHistoryCount(args: string): number | null {
  const s = args.trim();
  if (s === "") return HISTORY_DEFAULT;
  if (!/^[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return Math.min(n, HISTORY_MAX);
}

/** splitMsgArgs reads `/msg NAME TEXT`; null when the name or the text is missing. */
export function splitMsgArgs(args: string): { name: string; text: string } | null {
  const s = args.trimStart();
  const sp = indexOfSpace(s, 0);
  if (sp <= 0) return null;
  const text = s.slice(sp).trimStart();
  if (text.trim() === "") return null;
  return { name: s.slice(0, sp), text };
}
