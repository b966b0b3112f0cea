// Plain-text table rendering and number formatting shared by all scenarios.

export type Align = "left" | "right";

export interface Column {
  header: string;
  align?: Align;
  /** Consecutive columns with the same group get one spanning title above their headers. */
  group?: string;
}

/** Renders rows under headers with padded columns and a rule under the header. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(width(c.header), ...rows.map((r) => width(r[i] ?? ""))));
  const spans = groupSpans(columns);
  for (const span of spans) {
    // Widen the span's last column if the group title does not fit above it.
    const have = spanWidth(widths, span.from, span.to);
    if (width(span.title) + 6 > have) widths[span.to] = widths[span.to]! + width(span.title) + 6 - have;
  }
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => pad(cell, widths[i]!, columns[i]!.align ?? (i === 0 ? "left" : "right")))
      .join("  ")
      .trimEnd();
  const out: string[] = [];
  if (spans.length > 0) {
    let groupLine = "";
    let col = 0;
    for (const span of spans) {
      groupLine += " ".repeat(spanWidth(widths, col, span.from - 1) + (span.from > 0 ? 2 : 0));
      const w = spanWidth(widths, span.from, span.to);
      const dashes = w - width(span.title) - 2;
      const left = dashes >> 1;
      groupLine += `${"-".repeat(left)} ${span.title} ${"-".repeat(dashes - left)}`;
      col = span.to + 1;
    }
    out.push(groupLine.trimEnd());
  }
  out.push(line(columns.map((c) => c.header)), widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) out.push(line(row));
  return out.join("\n");
}

interface Span {
  title: string;
  from: number;
  to: number;
}

function groupSpans(columns: readonly Column[]): Span[] {
  const spans: Span[] = [];
  columns.forEach((c, i) => {
    if (!c.group) return;
    const last = spans.at(-1);
    if (last && last.title === c.group && last.to === i - 1) last.to = i;
    else spans.push({ title: c.group, from: i, to: i });
  });
  return spans;
}

// Width of columns from..to (inclusive) with their separators; 0 when empty.
function spanWidth(widths: readonly number[], from: number, to: number): number {
  if (to < from) return 0;
  let w = 0;
  for (let i = from; i <= to; i++) w += widths[i]!;
  return w + 2 * (to - from);
}

// Display width: every code point counts as one column (µ, ×, ± are single-width).
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, align: Align): string {
  const fill = " ".repeat(Math.max(0, w - width(s)));
  return align === "left" ? s + fill : fill + s;
}

/** 123456 -> "123,456"; 12.345 -> "12.3" (three significant figures below 100). */
export function fmtNumber(n: number): string {
  if (!Number.isFinite(n)) return "-";
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US");
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** A ratio such as 1.234 -> "1.23x"; NaN -> "-". */
export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : "-";
}

/** A fraction such as 0.784 -> "78%". */
export function fmtPercent(f: number): string {
  return Number.isFinite(f) ? `${Math.round(f * 100)}%` : "-";
}
