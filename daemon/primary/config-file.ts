import fs from "node:fs";

/** The --config file cannot be used: the message names the file, and for bad JSON its line and column. */
export class ConfigFileError extends Error {
  readonly file: string;
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigFileError";
    this.file = file;
  }
}

/** 1-based line and column of a character offset in text. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/** Where JSON.parse stopped, as `line L, column C`, from its message (V8 gives the position). */
function where(text: string, message: string): string {
  const at = /\(line (\d+) column (\d+)\)/.exec(message);
  if (at) return `line ${at[1]}, column ${at[2]}`;
  const position = /at position (\d+)/.exec(message);
  if (position) {
    const { line, column } = lineAndColumn(text, Number(position[1]));
    return `line ${line}, column ${column}`;
  }
  // "Unexpected end of JSON input": the text stopped early.
  const { line, column } = lineAndColumn(text, text.length);
  return `line ${line}, column ${column}`;
}

/**
 * Reads the --config file: a JSON object of options by their command-line names. A missing
 * file says "not found"; text that is not JSON names its line and column; anything but an
 * object is refused. Read whole at start and at each reload (a few KiB: no streaming).
 */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ConfigFileError(file, `config file ${file} not found`, { cause: error });
    throw new ConfigFileError(file, `cannot read the config file ${file} (${code ?? String(error)})`, {
      cause: error,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message.replace(/ in JSON at position \d+.*$/, "");
    throw new ConfigFileError(
      file,
      `config file ${file}: not JSON at ${where(text, (error as Error).message)}: ${message}`,
      {
        cause: error,
      },
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ConfigFileError(
      file,
      `config file ${file}: not a JSON object of options ({"flood-rate": 10, ...})`,
    );
  return value as Record<string, unknown>;
}
