import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { sanitize } from "../../protocol/text.ts";
import { MOTD_MAX_BYTES, MOTD_MAX_LINES } from "../shared/limits.ts";

/** The --motd file cannot be read (missing, a directory, no permission). */
export class MotdUnreadable extends Error {
  readonly file: string;
  constructor(file: string, options?: ErrorOptions) {
    const code = (options?.cause as NodeJS.ErrnoException | undefined)?.code;
    const why = code ? ` (${code})` : options?.cause instanceof Error ? ` (${options.cause.message})` : "";
    super(`cannot read the message of the day ${file}${why}`, options);
    this.name = "MotdUnreadable";
    this.file = file;
  }
}

/** The message of the day as sign-in shows it: sanitised lines; `cut` when the file held more than is shown. */
export interface Motd {
  lines: string[];
  cut: boolean;
}

/**
 * Reads the message of the day: at most MOTD_MAX_BYTES of the file (whole lines only) and
 * MOTD_MAX_LINES lines, each sanitised as relayed text is (no control characters, escape
 * sequences or bidirectional overrides reach a user's terminal); blank lines at either end dropped.
 */
export async function readMotd(file: string): Promise<Motd> {
  let data: Buffer;
  try {
    // Non-blocking, and only a regular file: a FIFO or a device would hold one of libuv's few
    // pool threads for ever (each SIGHUP one more), and with them the log and history writes.
    const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    try {
      if (!(await handle.stat()).isFile()) throw new Error("not a regular file");
      const buffer = Buffer.alloc(MOTD_MAX_BYTES + 1);
      let filled = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
        if (filled === buffer.length) break;
      }
      data = buffer.subarray(0, filled);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new MotdUnreadable(file, { cause: error });
  }
  let cut = false;
  if (data.length > MOTD_MAX_BYTES) {
    cut = true;
    const lastEnd = data.subarray(0, MOTD_MAX_BYTES).lastIndexOf(0x0a);
    data = data.subarray(0, lastEnd === -1 ? MOTD_MAX_BYTES : lastEnd);
  }
  // stream: a character cut in two at the byte bound is left out, not shown as U+FFFD.
  const text = new TextDecoder().decode(data, { stream: cut });
  const lines = text.split(/\r\n|\n|\r/).map((line) => sanitize(line).trimEnd());
  while (lines.length > 0 && lines[0] === "") lines.shift();
  while (lines.length > 0 && lines.at(-1) === "") lines.pop();
  if (lines.length > MOTD_MAX_LINES) {
    cut = true;
    lines.length = MOTD_MAX_LINES;
  }
  return { lines, cut };
}
