import fs from "node:fs";
import path from "node:path";

/** The most lines the shell's history file keeps. */
export const HISTORY_LINES = 1000;

/** Where the shell keeps its history: the user's state directory, as the daemon's own ($XDG_STATE_HOME/tsd or ~/.local/state/tsd). */
export function historyPath(env: NodeJS.ProcessEnv, home: string): string {
  const state = env.XDG_STATE_HOME ? env.XDG_STATE_HOME : path.join(home, ".local", "state");
  return path.join(state, "tsd", "tsctl_history");
}

/** The saved lines, oldest first; none when the file is missing or unreadable. */
export function loadHistory(file: string): string[] {
  try {
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .slice(-HISTORY_LINES);
  } catch {
    return [];
  }
}

/**
 * Saves the lines (oldest first), the last HISTORY_LINES of them, replacing the file whole
 * (a temp file renamed over it), mode 0600 in a 0700 directory: commands can name accounts.
 * A history that cannot be saved is no reason to fail a command: the error is returned.
 */
export function saveHistory(file: string, lines: readonly string[]): Error | null {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, `${lines.slice(-HISTORY_LINES).join("\n")}\n`, { mode: 0o600 });
    fs.renameSync(temp, file);
    return null;
  } catch (error) {
    return error as Error;
  }
}
