import fs from "node:fs/promises";

const CHUNK = 64 * 1024;
/** However many lines are asked for, never read more than this from the end of the file. */
const MAX_READ = 64 * 1024 * 1024;

/** The last n lines of a text file, read backwards in chunks so a big log is not read whole. */
export async function readLastLines(file: string, n: number): Promise<string[]> {
  if (n === 0) return [];
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const parts: Buffer[] = [];
    let position = size;
    let newlines = 0;
    while (position > 0 && newlines <= n && size - position < MAX_READ) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, position);
      parts.unshift(buffer);
      for (let i = 0; i < length; i++) if (buffer[i] === 10) newlines++;
    }
    const lines = Buffer.concat(parts).toString("utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    // The first piece may be a partial line unless we read from the start of the file.
    if (position > 0) lines.shift();
    return lines.slice(-n);
  } finally {
    await handle.close();
  }
}
