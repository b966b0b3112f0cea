import os from "node:os";
import yargs, { type Argv } from "yargs";
import type { CtlCommand, CtlContext } from "./command.ts";
import { announce } from "./commands/announce.ts";
import { identities } from "./commands/identities.ts";
import { kick } from "./commands/kick.ts";
import { logs } from "./commands/logs.ts";
import { pause, resume } from "./commands/pause.ts";
import { status } from "./commands/status.ts";
import { stop } from "./commands/stop.ts";
import { who } from "./commands/who.ts";
import { ControlClient } from "./control-client.ts";
import { parseDuration } from "./duration.ts";
import { CtlError, ExitCode, UsageError } from "./errors.ts";
import { socketCandidates } from "./socket-candidates.ts";
import { CTL_VERSION } from "./version.ts";

export const COMMANDS: readonly CtlCommand[] = [
  status,
  stop,
  pause,
  resume,
  logs,
  identities,
  who,
  kick,
  announce,
];

/** Where a command's output goes and how it talks to a person; the CLI, the shell and the console each give one. */
export interface CtlIo {
  out(text: string): void;
  err(text: string): void;
  interactive: boolean;
  confirm(question: string): Promise<boolean>;
  /** Resolves on Ctrl-C. */
  interrupted(): Promise<void>;
}

/** A connection kept across the commands of one shell session. */
export interface CtlSession {
  client?: Promise<ControlClient>;
  /** Options given on tsctl's own command line, applied to every shell command. */
  defaults?: string[];
}

function globalOptions(y: Argv) {
  return y
    .option("socket", {
      type: "string",
      describe: "control socket path [$TSD_SOCKET, $RUNTIME_DIRECTORY/control.sock, ...]",
    })
    .option("json", { type: "boolean", default: false, describe: "print results as JSON" })
    .option("verbose", { type: "boolean", default: false, describe: "say which control socket is used" })
    .option("timeout", { type: "string", default: "10s", describe: "how long one call may take" });
}

/** The control sockets to try, first match wins (control.md, then the systemd service's). */
export function socketPathsFor(flag: string | undefined): string[] {
  return socketCandidates(flag, {
    env: process.env,
    uid: process.getuid?.() ?? 0,
    home: os.homedir(),
    platform: process.platform,
  });
}

/** Runs one tsctl command line; returns the exit code. */
export async function runCli(argv: string[], io: CtlIo, session: CtlSession = {}): Promise<number> {
  let failure: CtlError | null = null;
  let parser = globalOptions(yargs([...(session.defaults ?? []), ...argv]))
    .scriptName("tsctl")
    .usage(
      "$0 [command] [options]\n\nControls a running tsd-daemon over its control socket.\nWith no command: an interactive shell.",
    )
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
        // A global option given twice (the shell's defaults, then the line's own): the last wins.
        const socketPaths = socketPathsFor(last(args.socket) as string | undefined);
        const verbose = Boolean(last(args.verbose));
        const timeoutMs = parseDuration(String(last(args.timeout)), "--timeout");
        const ctx: CtlContext = {
          client: () => {
            session.client ??= ControlClient.connectFirst(socketPaths, timeoutMs, (from, to) => {
              if (verbose) io.err(`tsctl: nothing answers at ${from}; trying ${to}`);
            }).then((client) => {
              if (verbose) io.err(`tsctl: using ${client.path}`);
              return client;
            });
            session.client.catch(() => {
              session.client = undefined;
            });
            return session.client;
          },
          dropClient: () => {
            void session.client?.then(
              (c) => c.close(),
              () => {},
            );
            session.client = undefined;
          },
          json: Boolean(last(args.json)),
          out: io.out,
          err: io.err,
          interactive: io.interactive,
          confirm: io.confirm,
          untilInterrupted: (done) => Promise.race([done, io.interrupted()]),
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

function last(value: unknown): unknown {
  return Array.isArray(value) ? value.at(-1) : value;
}
