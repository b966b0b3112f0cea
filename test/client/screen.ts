/**
 * Renders what a terminal would show for a stream of output: enough of a VT100 for
 * readline (CR, LF, BS, cursor moves, erase in line and display, insert and delete
 * characters; SGR and modes ignored), with a grid of cells in which a wide character
 * (CJK, emoji: display width 2) takes two, as in xterm. No line wrapping: keep test lines
 * shorter than the terminal. Returns the rows, trailing blanks trimmed.
 */
export function render(output: string): string[] {
  return renderScreen(output).rows;
}

/** A wide character's second cell. */
const CONTINUATION = "";

/** The rows and where the cursor is (row and column, from 0). */
export interface Screen {
  rows: string[];
  cursor: { row: number; col: number };
}

export function renderScreen(output: string): Screen {
  const grid: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => {
    grid[row] ??= [];
    return grid[row]!;
  };
  /** A wide character cut in half by a write or an erase leaves a blank, as a terminal shows it. */
  const breakWide = (cells: string[], at: number) => {
    if (cells[at] === CONTINUATION && at > 0) cells[at - 1] = " ";
    if (cells[at + 1] === CONTINUATION) cells[at + 1] = " ";
  };
  const put = (char: string) => {
    const width = displayWidth(char);
    if (width === 0) {
      // A combining mark or joiner goes with the character before it.
      const cells = line();
      const at = cells[col - 1] === CONTINUATION ? col - 2 : col - 1;
      if (at >= 0) cells[at] += char;
      return;
    }
    const cells = line();
    while (cells.length < col) cells.push(" ");
    breakWide(cells, col);
    cells[col] = char;
    if (width === 2) {
      breakWide(cells, col + 1);
      cells[col + 1] = CONTINUATION;
    }
    col += width;
  };
  const sequence = /\x1b\[([?0-9;]*)([A-Za-z@])|\x1b[^[]|[\r\n\b]|[^\x1b\r\n\b]+/g;
  for (const [token, params = "", final] of output.matchAll(sequence)) {
    const n = Number(params.split(";")[0] || 1);
    const p0 = Number(params || 0);
    if (token === "\r") col = 0;
    else if (token === "\n") {
      row += 1;
      line();
    } else if (token === "\b") col = Math.max(0, col - 1);
    else if (final === "G") col = n - 1;
    else if (final === "A") row = Math.max(0, row - n);
    else if (final === "B") row += n;
    else if (final === "C") col += n;
    else if (final === "D") col = Math.max(0, col - n);
    else if (final === "H") {
      const [r = 1, c = 1] = params.split(";").map((v) => Number(v || 1));
      row = r - 1;
      col = c - 1;
    } else if (final === "J") {
      if (p0 === 0) {
        line().length = Math.min(line().length, col);
        grid.length = row + 1;
      } else if (p0 === 2) grid.length = 0;
    } else if (final === "K") {
      const cells = line();
      if (p0 === 0) cells.length = Math.min(cells.length, col);
      else if (p0 === 1) for (let c = 0; c <= col && c < cells.length; c++) cells[c] = " ";
      else cells.length = 0;
    } else if (final === "P") line().splice(col, n);
    else if (final === "@") line().splice(col, 0, ...Array<string>(n).fill(" "));
    else if (!token.startsWith("\x1b")) for (const char of token) put(char);
    line();
    for (let r = 0; r <= row; r++) grid[r] ??= [];
  }
  const rows = Array.from(grid, (cells = []) => cells.join("").trimEnd());
  return { rows, cursor: { row, col } };
}

const WIDE =
  /\p{Emoji_Presentation}|\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|\p{Script=Hangul}|[\u3000-\u303f\uff01-\uff60\uffe0-\uffe6]/u;
const ZERO = /\p{Mn}|\p{Me}|\u200d|\ufe0f|\ufe0e/u;

/** How many terminal cells a code point takes: 0 for combining marks and joiners, 2 for wide ones. */
export function displayWidth(char: string): 0 | 1 | 2 {
  if (ZERO.test(char)) return 0;
  return WIDE.test(char) ? 2 : 1;
}
