/**
 * Renders what a terminal would show for a stream of output: enough of a VT100 for
 * readline (CR, LF, cursor moves, erase; SGR and modes ignored). No line wrapping: keep
 * test lines shorter than the terminal.
 */
export function render(output: string): string[] {
  const rows: string[] = [""];
  let row = 0;
  let col = 0;
  const put = (text: string) => {
    const line = rows[row]!.padEnd(col);
    rows[row] = line.slice(0, col) + text + line.slice(col + text.length);
    col += text.length;
  };
  const sequence = /\x1b\[([?0-9;]*)([A-Za-z])|\x1b[^[]|[\r\n\b]|[^\x1b\r\n\b]+/g;
  for (const [token, params = "", final] of output.matchAll(sequence)) {
    const n = Number(params || 1);
    if (token === "\r") col = 0;
    else if (token === "\n") {
      row += 1;
      rows[row] ??= "";
    } else if (token === "\b") col = Math.max(0, col - 1);
    else if (final === "G") col = n - 1;
    else if (final === "A") row = Math.max(0, row - n);
    else if (final === "B") row += n;
    else if (final === "C") col += n;
    else if (final === "D") col = Math.max(0, col - n);
    else if (final === "J") {
      rows[row] = rows[row]!.slice(0, col);
      rows.length = row + 1;
    } else if (final === "K") rows[row] = params === "2" ? "" : rows[row]!.slice(0, col);
    else if (!token.startsWith("\x1b")) put(token);
    for (let r = 0; r <= row; r++) rows[r] ??= "";
  }
  return rows.map((line) => line.trimEnd());
}
