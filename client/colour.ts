const RESET = "\x1b[0m";
const RED = "\x1b[31m";
const DIM = "\x1b[2m";
const YELLOW = "\x1b[33m";
// Red is kept for errors; the rest are told apart on dark and light backgrounds alike.
const NAME_COLOURS = [32, 33, 34, 35, 36, 92, 93, 94, 95, 96].map((n) => `\x1b[${n}m`);

/** Whether to colour output written to a stream: a terminal, NO_COLOR unset or empty, TERM not dumb. */
export function colourWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb";
}

/** The same name always gets the same colour (FNV-1a over its UTF-16 units). */
export function nameColour(name: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return NAME_COLOURS[hash % NAME_COLOURS.length]!;
}

const paint = (colour: string, text: string) => `${colour}${text}${RESET}`;

/** Colours one server line by its kind (see the wire contract's table of line starts). */
export function colourise(line: string): string {
  if (line.startsWith("! ")) return paint(RED, line);
  // Away users stand out in the online list (`* 3 online: alice (away), bob`).
  if (/^\* \d+ online: /.test(line))
    return paint(DIM, line.replaceAll(" (away)", ` ${RESET}${YELLOW}(away)${RESET}${DIM}`));
  if (/^\* \S+ is away: /.test(line)) return paint(YELLOW, line);
  if (line.startsWith("* ")) return paint(DIM, line);
  // <name> text, [time] <name> text, *name* text, -> *name* text
  const match = /^(\[[^\]]*\] |-> )?(<([^>\s]+)>|\*([^*\s]+)\*)(?= |$)/.exec(line);
  if (!match) return line;
  const [tagged, before = "", tag, chatName, privateName] = match;
  const head = before ? `${paint(DIM, before.trimEnd())} ` : "";
  return `${head}${paint(nameColour(chatName ?? privateName!), tag!)}${line.slice(tagged.length)}`;
}
