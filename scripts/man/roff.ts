/** Small helpers to write man(7) pages: escaping and the few macros the pages use. */

/** Text as roff prints it literally: backslashes and hyphens escaped, no line taken for a request. */
export function esc(text: string): string {
  return text
    .replaceAll("\\", "\\e")
    .replaceAll("-", "\\-")
    .split("\n")
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join("\n");
}

export function bold(text: string): string {
  return `\\fB${esc(text)}\\fR`;
}

export function italic(text: string): string {
  return `\\fI${esc(text)}\\fR`;
}

/** A section: .SH NAME then its lines. */
export function section(name: string, ...lines: string[]): string[] {
  return [`.SH ${name}`, ...lines];
}

/** A tagged paragraph: the tag on its own line, the body indented below. */
export function tagged(tag: string, ...body: string[]): string[] {
  return [".TP", tag, ...body];
}

/** The page's first line: .TH with no date, so the page changes only when its content does. */
export function title(name: string, sectionNumber: number, manual: string): string {
  return `.TH ${name.toUpperCase()} ${sectionNumber} "" "tsd" "${manual}"`;
}
