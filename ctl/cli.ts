import os from "node:os";
import yargs, { type Argv } from "yargs";
import { resolveSocketPath } from "../protocol/paths.ts";
import type { CtlCommand, CtlContext } from "./command.ts";
import { pause, resume } from "./commands/pause.ts";
import { status } from "./commands/status.ts";
import { stop } from "./commands/stop.ts";
import { ControlClient } from "./control-client.ts";
import { parseDuration } from "./duration.ts";
import { CtlError, ExitCode, UsageError } from "./errors.ts";
import { CTL_VERSION } from "./version.ts";

export const COMMANDS: readonly CtlCommand[] = [status, stop, pause, resume];

export interface CtlIo {
  out(text: string): void;
  err(text: string): void;
  interactive: boolean;
}

/** The options every command shares. */
function globalOptions(y: Argv) {
  return y
    .option("socket", { type: "string", describe: "control socket path [$TSD_SOCKET, ...]" })
    .option("json", { type: "boolean", default: false, describe: "print results as JSON" })
    .option("timeout", { type: "string", default: "10s", describe: "how long one call may take" });
}

/** Runs one tsctl command line; returns the exit code. `shared` keeps one connection across shell lines. */
export async function runCli(
  argv: string[],
  io: CtlIo,
  shared?: { client?: Promise<ControlClient> },
): Promise<number> {
  let failure: CtlError | null = null;
  const state = shared ?? {};
  let parser = globalOptions(yargs(argv))
    .scriptName("tsctl")
    .usage("$0 [command] [options]\n\nControls a running tsd-daemon over its control socket.")
    .version(CTL_VERSION)
    .strict()
    .demandCommand(1, "")
    .exitProcess(false)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((message, error) => {
      failure =
        error instanceof CtlError ? error : new UsageError(message || String(error?.message ?? error));
    });
  for (const cmd of COMMANDS) {
    parser = parser.command(
      cmd.command,
      cmd.describe,
      (y) => (cmd.builder ? cmd.builder(y) : y),
      async (args) => {
        const socketPath = resolveSocketPath(args.socket as string | undefined, {
          env: process.env,
          uid: process.getuid?.() ?? 0,
          home: os.homedir(),
          platform: process.platform,
        });
        const timeoutMs = parseDuration(String(args.timeout), "--timeout");
        const ctx: CtlContext = {
          client: () => {
            state.client ??= ControlClient.connect(socketPath, timeoutMs);
            return state.client;
          },
          json: Boolean(args.json),
          out: io.out,
          err: io.err,
          interactive: io.interactive,
        };
        await cmd.run(ctx, args);
      },
    );
  }
  try {
    await parser.parseAsync();
  } catch (error) {
    failure =
      error instanceof CtlError
        ? error
        : new CtlError(String((error as Error)?.message ?? error), ExitCode.daemonError);
  }
  if (failure) {
    const error = failure as CtlError;
    if (error.message) io.err(`tsctl: ${error.message}`);
    return error.exitCode;
  }
  return ExitCode.ok;
}
