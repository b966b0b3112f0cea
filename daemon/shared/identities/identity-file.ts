import type { PasswordHash } from "../password.ts";

/** The identity file exists but cannot be used; tsd never overwrites such a file. */
export class IdentityFileCorrupt extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file} ${problem}; fix or move it; tsd never overwrites it`);
    this.name = "IdentityFileCorrupt";
    this.file = file;
  }

  #reported = false;
  /** True only the first time: one log line per unusable version of the file, however many sign-ins meet it. */
  firstReport(): boolean {
    const first = !this.#reported;
    this.#reported = true;
    return first;
  }
}

export const FILE_VERSION = 1;
export const FILE_MODE = 0o600;

/** A user record as stored in the file (the key is the property name). Unknown fields are kept. */
export interface StoredUser {
  name: string;
  createdAt: string;
  lastLoginAt: string | null;
  lastAddress: string | null;
  password: PasswordHash;
  [extra: string]: unknown;
}

/** What one version of the file holds. Records are treated as immutable; changes make new objects. */
export interface IdentityFileContents {
  users: ReadonlyMap<string, StoredUser>;
  /** Top-level fields other than version and users, kept on rewrite. */
  extra: Record<string, unknown>;
}

/** "(line 3)" for a JSON.parse error, from V8's "(line L column C)" or its "position N". */
function jsonErrorLine(message: string, text: string): string {
  const line = /\(line (\d+) column \d+\)/.exec(message);
  if (line) return ` (line ${line[1]})`;
  const position = /at position (\d+)/.exec(message);
  const at = position ? Number(position[1]) : /end of JSON input/.test(message) ? text.length : -1;
  if (at < 0) return "";
  return ` (line ${text.slice(0, at).split("\n").length})`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}

/** Parses the file's text, or says what is wrong with it (in words for the operator). */
export function parseIdentityFile(text: string): IdentityFileContents | { problem: string } {
  if (text.trim() === "") return { problem: "is empty (expected a JSON object)" };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { problem: `is not valid JSON${jsonErrorLine(message, text)}: ${message}` };
  }
  if (!isPlainObject(data)) return { problem: "is not a JSON object" };
  const { version, users, ...extra } = data;
  if (version !== FILE_VERSION) {
    return { problem: `has version ${JSON.stringify(version)}; this tsd reads version ${FILE_VERSION}` };
  }
  if (!isPlainObject(users)) return { problem: 'has no "users" object' };
  const map = new Map<string, StoredUser>();
  for (const [key, record] of Object.entries(users)) {
    const where = `user ${JSON.stringify(key)}`;
    if (!isPlainObject(record)) return { problem: `has a ${where} that is not an object` };
    if (typeof record.name !== "string" || record.name === "") {
      return { problem: `has a ${where} without a name` };
    }
    if (typeof record.createdAt !== "string") return { problem: `has a ${where} without createdAt` };
    if (!isStringOrNull(record.lastLoginAt) || !isStringOrNull(record.lastAddress)) {
      return { problem: `has a ${where} whose lastLoginAt or lastAddress is not a string or null` };
    }
    if (!isPlainObject(record.password) || typeof record.password.algo !== "string") {
      return { problem: `has a ${where} without a password record` };
    }
    map.set(key, record as StoredUser);
  }
  return { users: map, extra };
}

export function serializeIdentityFile(contents: IdentityFileContents): string {
  const data = { ...contents.extra, version: FILE_VERSION, users: Object.fromEntries(contents.users) };
  return `${JSON.stringify(data, null, 2)}\n`;
}
