import { escapeControls } from "../../protocol/log-escape.ts";
import type { LogLineNotice } from "../../protocol/rpc.ts";
import { type CtlCommand, printJson } from "../command.ts";
import { UsageError } from "../errors.ts";

/** The daemon's bound on logs.tail's lines (daemon/shared/limits.ts MAX_TAIL_LINES), checked here in -n's terms. */
export const MAX_LOG_LINES = 100_000;

export const logs: CtlCommand = {
  command: "logs [action]",
  describe: "show the last log lines (-n), follow them (-f), or clear / reopen the log file",
  positionals: {
    action: { choices: ["clear", "reopen"] as const, describe: "clear the log file or reopen it" },
  },
  options: {
    n: { alias: "lines", type: "number", nargs: 1, default: 50, describe: "how many lines" },
    f: { alias: "follow", type: "boolean", default: false, describe: "keep printing new lines until Ctrl-C" },
  },
  check(args) {
    const lines = Number(args.n);
    if (!Number.isInteger(lines) || lines < 0) throw new UsageError("-n takes a whole number of lines");
    if (lines > MAX_LOG_LINES)
      throw new UsageError(`-n must be at most ${MAX_LOG_LINES}; read tsd.log in the log directory for more`);
    if (args.action !== undefined && args.f)
      throw new UsageError(`-f goes with the log's lines, not logs ${args.action}`);
  },
  async run(ctx, args) {
    const client = await ctx.client();
    if (args.action === "clear") {
      const result = await client.call("logs.clear");
      return ctx.json ? printJson(ctx, result) : ctx.out(`log file cleared (${result.bytes} bytes)`);
    }
    if (args.action === "reopen") {
      const result = await client.call("logs.reopen");
      return ctx.json ? printJson(ctx, result) : ctx.out("log file reopened");
    }
    const lines = Number(args.n);
    const follow = Boolean(args.f);
    // A log written before its lines were escaped, or appended to by others, may hold raw control bytes: never replay them on the terminal.
    const print = (line: string) =>
      ctx.json ? ctx.out(JSON.stringify({ line })) : ctx.out(escapeControls(line));
    if (follow) {
      client.onNotification((method, params) => {
        if (method === "logs.line") print((params as LogLineNotice).line);
      });
    }
    const result = await client.call("logs.tail", {
      lines,
      follow,
    });
    if (ctx.json && !follow) return printJson(ctx, result);
    for (const line of result.lines) print(line);
    if (result.truncated) {
      ctx.err(
        `tsctl: truncated: only the last ${result.lines.length} of the ${lines} lines asked for fit in one answer; read tsd.log in the log directory for the rest`,
      );
    }
    if (follow) {
      await ctx.untilInterrupted(client.closed());
      ctx.dropClient();
    }
  },
};
