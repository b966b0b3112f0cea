/**
 * What a log line must not carry raw: C0 controls (line ends and TAB included: a record is
 * one line), DEL, C1 controls, the line and paragraph separators and the bidirectional
 * embeddings, overrides and isolates. Any of them could move a terminal's cursor, retitle
 * it, clear it, or forge a record when the log is read with cat, less or journalctl.
 */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  if (c === "\n") return "\\n";
  if (c === "\r") return "\\r";
  if (c === "\t") return "\\t";
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * escapeControls writes every unsafe character of a formatted log line as a JSON-style
 * escape (\n, \u001b, ...). In a JSON record those characters can only sit inside strings,
 * where the escape is valid JSON for the same character, so a JSON log stays exact; a text
 * log shows the escape where the raw byte would have acted on the reader's terminal.
 */
export function escapeControls(line: string): string {
  return line.replace(UNSAFE, escapeOne);
}
