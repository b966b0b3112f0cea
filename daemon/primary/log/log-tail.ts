import fs from "node:fs/promises";
import { type LogsTailResult, MAX_TAIL_BYTES } from "../../../protocol/rpc.ts";

const CHUNK = 64 * 1024;

/**
 * The last n lines of a text file, whole lines only, at most maxBytes of them with their
 * line ends (truncated: fewer lines than asked for, the earlier ones did not fit). It reads
 * backwards in chunks and never more than maxBytes + 1 bytes, however big the file or n.
 */
export async function readLastLines(
  file: string,
  n: number,
  maxBytes = MAX_TAIL_BYTES,
): Promise<LogsTailResult> {
  if (n === 0) return { lines: [], truncated: false };
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { lines: [], truncated: false };
    throw error;
  }
  try {
    const { size } = await handle.stat();
    // One byte more than the bound: if it is a line end, the window starts on a whole line.
    const windowStart = Math.max(0, size - maxBytes - 1);
    const parts: Buffer[] = [];
    let position = size;
    let newlines = 0;
    while (position > windowStart && newlines <= n) {
      const length = Math.min(CHUNK, position - windowStart);
      position -= length;
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      parts.unshift(buffer.subarray(0, bytesRead));
      for (let i = 0; i < bytesRead; i++) if (buffer[i] === 10) newlines++;
    }
    let bytes = Buffer.concat(parts);
    // Unless the read reached the start of the file, the first piece is part of a line: drop it.
    if (position > 0) {
      const firstEnd = bytes.indexOf(10);
      bytes = firstEnd === -1 ? bytes.subarray(bytes.length) : bytes.subarray(firstEnd + 1);
    }
    const lines = bytes.length === 0 ? [] : bytes.toString("utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    return { lines: lines.slice(-n), truncated: lines.length < n && position > 0 };
  } finally {
    await handle.close();
  }
}
