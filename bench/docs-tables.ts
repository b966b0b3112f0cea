// `npm run bench -- chat-idle chat-fanout-1000 --write-docs`: the tables of docs/performance.md
// that the bench measures are written by it, between markers, never typed by hand:
//   <!-- bench:chat-idle begin --> ... <!-- bench:chat-idle end -->
import { readFileSync, writeFileSync } from "node:fs";
import type { Column } from "./table.ts";
import type { ScenarioReport } from "./types.ts";

/** A markdown table of the same columns and rows as the printed one; a group's name goes before its columns' headers. */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const header = columns.map((c) => (c.group ? `${c.group}: ${c.header}` : c.header));
  const rule = columns.map((_, i) => (i === 0 ? "---" : "---:"));
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(header), line(rule), ...rows.map(line)].join("\n");
}

/** A report's markdown block: what was run, the table, its notes. */
export function markdownBlock(intro: string, table: string, notes: readonly string[]): string {
  return [intro, "", table, "", ...notes.map((n) => `- ${n}`)].join("\n");
}

/**
 * Replaces each scenario's block in the file with its markdown, headed by how it was measured;
 * answers the scenarios written and those whose markers the file lacks.
 */
export function writeDocsTables(
  file: string,
  reports: readonly ScenarioReport[],
  measured: string,
): { written: string[]; missing: string[] } {
  let doc = readFileSync(file, "utf8");
  const written: string[] = [];
  const missing: string[] = [];
  for (const report of reports) {
    if (!report.markdown) continue;
    const begin = `<!-- bench:${report.name} begin -->`;
    const end = `<!-- bench:${report.name} end -->`;
    const a = doc.indexOf(begin);
    const b = doc.indexOf(end);
    if (a < 0 || b < a) {
      missing.push(report.name);
      continue;
    }
    const block = `${begin}\n${measured}\n\n${report.markdown}\n${end}`;
    doc = doc.slice(0, a) + block + doc.slice(b + end.length);
    written.push(report.name);
  }
  writeFileSync(file, doc);
  return { written, missing };
}
