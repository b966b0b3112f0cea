import path from "node:path";
import winston from "winston";
import TransportStream from "winston-transport";
import type { LogLevel } from "../../../protocol/hub-messages.ts";
import { escapeControls } from "../../../protocol/log-escape.ts";
import { LogFileTransport } from "./log-file.ts";

/** Writes one record to the daemon's log. */
export type Log = (level: LogLevel, msg: string, meta?: Record<string, unknown>) => void;

export interface DaemonLogger {
  log: Log;
  /**
   * The lines meant for stdout go to print instead (the console draws them above the line being
   * typed); null: to stdout again.
   */
  divertStdout(print: ((line: string) => void) | null): void;
  /** Records below level are dropped from now on (config.set log-level). */
  setLevel(level: LogLevel): void;
  readonly file: LogFileTransport;
  /** Calls listener with every formatted line from now on; returns the function that stops it. */
  follow(listener: (line: string) => void): () => void;
  close(): Promise<void>;
}

const MESSAGE = Symbol.for("message");

/** FollowTransport hands each formatted record to whoever follows the log (tsctl logs -f). */
class FollowTransport extends TransportStream {
  readonly followers = new Set<(line: string) => void>();

  override log(info: Record<symbol, unknown>, callback: () => void): void {
    const line = String(info[MESSAGE]);
    for (const listener of this.followers) listener(line);
    callback();
  }
}

/** StdoutTransport writes each line to stdout (the journal), or to whoever diverts it (the console). */
class StdoutTransport extends TransportStream {
  print: ((line: string) => void) | null = null;

  override log(info: Record<symbol, unknown>, callback: () => void): void {
    const line = String(info[MESSAGE]);
    if (this.print) this.print(line);
    else process.stdout.write(`${line}\n`);
    callback();
  }
}

/**
 * escapeLine is the last step of every format: whatever a record holds (an announcement, a
 * kick reason, a name, an address, an error from any thread), the line every transport
 * writes (file, stdout, followers) carries no control character raw.
 */
const escapeLine = winston.format((info) => {
  const record = info as unknown as Record<symbol, unknown>;
  record[MESSAGE] = escapeControls(String(record[MESSAGE]));
  return info;
});

const SPLAT_KEYS = new Set(["level", "message", "timestamp", "source"]);

function textLine(info: winston.Logform.TransformableInfo): string {
  let line = `${info.timestamp} ${info.level.padEnd(5)} ${info.source ?? "main"} ${info.message}`;
  for (const [key, value] of Object.entries(info)) {
    // Absent is left out: no name=null before a sign-in.
    if (SPLAT_KEYS.has(key) || value === null || value === undefined) continue;
    line += ` ${key}=${typeof value === "string" && !/\s/.test(value) ? value : JSON.stringify(value)}`;
  }
  return line;
}

/** The daemon's one logger: every process's and thread's records end here (architecture.md). */
export function createLogger(opts: {
  level: LogLevel;
  format: "text" | "json";
  logDir: string;
  maxBytes: number;
  keep: number;
}): DaemonLogger {
  const format = winston.format.combine(
    winston.format.timestamp(),
    opts.format === "json" ? winston.format.json() : winston.format.printf(textLine),
    escapeLine(),
  );
  const logger = winston.createLogger({ level: opts.level, format });
  const stdout = new StdoutTransport();
  logger.add(stdout);
  const file = new LogFileTransport(path.join(opts.logDir, "tsd.log"), {
    maxBytes: opts.maxBytes,
    keep: opts.keep,
    onFailure: (error) => {
      logger.warn("cannot write the log file; logging to stdout only", { error: error.message });
    },
    onDropped: (dropped) => {
      logger.warn("log records left out of the log file: it could not keep up", { dropped });
    },
  });
  logger.add(file);
  const followers = new FollowTransport();
  logger.add(followers);
  return {
    follow(listener) {
      followers.followers.add(listener);
      return () => followers.followers.delete(listener);
    },
    log(level, msg, meta) {
      logger.log(level, msg, meta);
    },
    divertStdout(print) {
      stdout.print = print;
    },
    setLevel(level) {
      logger.level = level;
    },
    file,
    async close() {
      await file.flush();
    },
  };
}
