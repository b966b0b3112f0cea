import { MAX_TAIL_LINES, MAX_FOLLOW_BACKLOG } from "../../shared/limits.ts";
import type { DaemonLogger } from "../log/logger.ts";
import type { LogLineNotice, LogsTailResult } from "../../../protocol/rpc.ts";
import { readLastLines } from "../log/log-tail.ts";
import type { ControlConnection, Serve } from "./control-server.ts";
import { invalidParams, objectParams } from "./params.ts";

/** The log file's operations: logs.tail (and its follow), logs.clear, logs.reopen. */
export interface LogsControl {
  /** The last lines of the log, bounded in bytes (truncated says so). */
  logsTail(lines: number): Promise<LogsTailResult>;
  /** Streams every new line to conn as a logs.line notification until it closes. */
  logsFollow(conn: ControlConnection): void;
  /** Empties the file; returns how many bytes it held. */
  logsClear(): number;
  logsReopen(): void;
}

export function logsHandlers(logs: LogsControl) {
  const serveLogsClear: Serve<"logs.clear"> = () => ({ cleared: true, bytes: logs.logsClear() });

  const serveLogsReopen: Serve<"logs.reopen"> = () => {
    logs.logsReopen();
    return { reopened: true };
  };

  // Tail reads run one at a time across all connections: each holds up to MAX_TAIL_BYTES.
  let tailReads: Promise<unknown> = Promise.resolve();
  const readTail = (lines: number): Promise<LogsTailResult> => {
    const read = tailReads.then(() => logs.logsTail(lines));
    tailReads = read.catch(() => {});
    return read;
  };

  const serveLogsTail: Serve<"logs.tail"> = async (params, conn) => {
    const { lines = 50, follow = false } = objectParams(params);
    if (typeof lines !== "number" || !Number.isInteger(lines) || lines < 0 || lines > MAX_TAIL_LINES) {
      throw invalidParams(`lines must be an integer 0-${MAX_TAIL_LINES}`);
    }
    if (typeof follow !== "boolean") throw invalidParams("follow must be true or false");
    const tail = await readTail(lines);
    if (follow) logs.logsFollow(conn);
    return { lines: tail.lines, truncated: tail.truncated };
  };

  return { serveLogsClear, serveLogsReopen, serveLogsTail };
}

/** The log operations over the daemon's logger; each change is itself logged. */
export function logsControl(logger: DaemonLogger): LogsControl {
  return {
    logsTail: (lines) => readLastLines(logger.file.filename, lines),
    logsFollow: (conn) => {
      const unfollow = logger.follow((line) => {
        if (conn.backlog > MAX_FOLLOW_BACKLOG) {
          // A follower that stops reading is cut off rather than buffered without bound.
          unfollow();
          conn.close();
          return;
        }
        conn.notify("logs.line", { line } satisfies LogLineNotice);
      });
      conn.onClose(unfollow);
    },
    logsClear: () => {
      const bytes = logger.file.clear();
      logger.log("info", "log file cleared", { bytes });
      return bytes;
    },
    logsReopen: () => {
      logger.file.reopen();
      logger.log("info", "log file reopened");
    },
  };
}
