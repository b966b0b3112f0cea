import os from "node:os";
import yargs, { type Argv } from "yargs";
import type { CtlArgs, CtlCommand, CtlContext } from "./command.ts";
import { announce } from "./commands/announce.ts";
import { ban } from "./commands/ban.ts";
import { bans } from "./commands/bans.ts";
import { COMPLETION_KEY, completion } from "./commands/completion.ts";
import { config } from "./commands/config.ts";
import { identities } from "./commands/identities.ts";
import { kick } from "./commands/kick.ts";
import { logs } from "./commands/logs.ts";
import { mute, unmute } from "./commands/mute.ts";
import { pause, resume } from "./commands/pause.ts";
import { reload } from "./commands/reload.ts";
import { status } from "./commands/status.ts";
import { stop } from "./commands/stop.ts";
import { top } from "./commands/top.ts";
import { unban } from "./commands/unban.ts";
import { who } from "./commands/who.ts";
import { completions } from "./complete.ts";
import { daemonCompletionSource } from "./completion-source.ts";
import { ControlClient } from "./control-client.ts";
import { durationOption, lastOf } from "./duration.ts";
import { CommandBound } from "./command-bound.ts";
import { CtlError, ExitCode, errorJson, UsageError } from "./errors.ts";
import { socketCandidates } from "./socket-candidates.ts";
import { positionalWords, usageMessage, valueFlags } from "./usage.ts";
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
  ban,
  unban,
  bans,
  mute,
  unmute,
  config,
  reload,
  top,
  completion,
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

/** The longest --timeout: longer than any call needs, short enough that a typo (10h for 10s) is caught. */
export const MAX_TIMEOUT_MS = 3_600_000;

export const GLOBAL_OPTIONS = {
  socket: {
    type: "string",
    nargs: 1,
    describe: "control socket path [$TSD_SOCKET, $RUNTIME_DIRECTORY/control.sock, ...]",
    // An empty path (an unset variable in `--socket "$SOCK"`) must not fall back to the default
    // sockets: the command would act on whichever daemon answers there.
    coerce: (value: unknown) => {
      for (const each of [value].flat())
        if (String(each ?? "").trim() === "")
          throw new UsageError("--socket needs a path, not an empty value");
      return value;
    },
  },
  json: { type: "boolean", default: false, describe: "print results (and errors) as JSON" },
  verbose: { type: "boolean", default: false, describe: "say which control socket is used" },
  timeout: durationOption(
    "timeout",
    "how long the whole command may take",
    { min: 1, max: MAX_TIMEOUT_MS },
    "10s",
  ),
} as const;

/** A command's yargs builder: its positionals and options from its tables, then its own builder. */
export function buildCommand(cmd: CtlCommand, y: Argv): Argv {
  let built = y;
  for (const [name, spec] of Object.entries(cmd.positionals ?? {})) built = built.positional(name, spec);
  if (cmd.options) built = built.options(cmd.options);
  return cmd.builder ? cmd.builder(built) : built;
}

/** tsctl's parser: every command and option, with nothing run (the handlers only say which command matched). */
export function ctlParser(argv: string[], onCommand: (cmd: CtlCommand, args: CtlArgs) => void): Argv {
  let parser = yargs(argv)
    .options(GLOBAL_OPTIONS)
    .scriptName("tsctl")
    .usage(
      "$0 [command] [options]\n\nControls a running tsd-daemon over its control socket.\nWith no command: an interactive shell.",
    )
    .version(CTL_VERSION)
    .strict()
    .demandCommand(1, "")
    .exitProcess(false)
    .wrap(Math.min(100, process.stdout.columns ?? 100));
  for (const cmd of COMMANDS) {
    parser = parser.command(
      cmd.command,
      cmd.describe,
      (y) => buildCommand(cmd, y),
      (args) => onCommand(cmd, args),
    );
  }
  return parser;
}

/** Whether a line has no command, only global options: tsctl's shell, with those options for each of its lines. */
export function isShellLine(argv: readonly string[]): boolean {
  if (argv.some((a) => ["--help", "-h", "--version"].includes(a))) return false;
  return positionalWords(argv, valueFlags([GLOBAL_OPTIONS])).length === 0;
}

/** The fault in a shell's global options (tsctl --bogus), found before the shell starts. */
export function globalOptionsProblem(argv: string[]): CtlError | null {
  let problem: CtlError | null = null;
  yargs(argv)
    .options(GLOBAL_OPTIONS)
    .strict()
    .version(false)
    .help(false)
    .exitProcess(false)
    .fail((message, error) => {
      if (error instanceof CtlError) problem ??= error;
      else if (message || error)
        problem ??= new UsageError(
          usageMessage(message || String(error?.message), argv, COMMANDS, GLOBAL_OPTIONS),
        );
    })
    .parse();
  return problem;
}

/** The socket a line's own --socket names (the last one), if any. */
export function socketFlag(words: readonly string[]): string | undefined {
  const values: string[] = [];
  words.forEach((word, i) => {
    if (word === "--socket" && words[i + 1] !== undefined) values.push(words[i + 1]!);
    else if (word.startsWith("--socket=")) values.push(word.slice("--socket=".length));
  });
  return values.at(-1);
}

/**
 * Answers a completion script's question (`tsctl --get-yargs-completions tsctl kick al`): the
 * words that can come next, one a line; user names from the daemon when it answers quickly.
 */
export async function answerCompletion(argv: readonly string[], out: (text: string) => void): Promise<void> {
  // The shell's words: the program's name first, the word being completed last.
  const words = argv.slice(argv.indexOf(COMPLETION_KEY) + 2);
  const current = words.pop() ?? "";
  const source = daemonCompletionSource(socketPathsFor(socketFlag(words)));
  for (const word of await completions(words, current, COMMANDS, GLOBAL_OPTIONS, source)) out(word);
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

/**
 * Runs one tsctl command line; returns the exit code. The whole line is parsed and checked
 * first (yargs runs a command's handler before its strict checks, so the handler only notes
 * the command); only a line with no fault reaches the daemon.
 */
export async function runCli(argv: string[], io: CtlIo, session: CtlSession = {}): Promise<number> {
  let failure: CtlError | null = null;
  let chosen: { cmd: CtlCommand; args: CtlArgs } | null = null;
  let noCommand = false;
  const line = [...(session.defaults ?? []), ...argv];
  const parser = ctlParser(line, (cmd, args) => {
    chosen = { cmd, args };
  }).fail((message, error) => {
    // yargs may fail twice for one line, first without a message (no command: `--bogus status` took "status" as the flag's value).
    if (error instanceof CtlError) failure ??= error;
    else if (message || error)
      failure ??= new UsageError(
        usageMessage(message || String(error?.message), argv, COMMANDS, GLOBAL_OPTIONS),
      );
    else noCommand = true;
  });
  try {
    await parser.parseAsync();
    const picked = chosen as { cmd: CtlCommand; args: CtlArgs } | null;
    if (!failure && noCommand) failure = new UsageError("no command given (tsctl --help lists them)");
    if (!failure && picked) {
      picked.cmd.check?.(picked.args);
      await runBounded(picked.cmd, picked.args, io, session);
    }
  } catch (error) {
    failure ??=
      error instanceof CtlError
        ? error
        : new CtlError(String((error as Error)?.message ?? error), ExitCode.daemonError);
  }
  if (failure) {
    const error = failure as CtlError;
    if (wantsJson(line)) io.err(errorJson(error));
    else if (error.message) io.err(`tsctl: ${error.message}`);
    return error.exitCode;
  }
  return ExitCode.ok;
}

/** Whether a line asks for --json (the last of --json / --no-json wins), read from the words so bad usage is JSON too. */
export function wantsJson(line: readonly string[]): boolean {
  const on = Math.max(line.lastIndexOf("--json"), line.lastIndexOf("--json=true"));
  return on >= 0 && on > Math.max(line.lastIndexOf("--no-json"), line.lastIndexOf("--json=false"));
}

/** The methods that only read: one left unanswered changes nothing when the daemon gets to it. */
const READ_ONLY = new Set([
  "status",
  "users.list",
  "identities.list",
  "bans.list",
  "config.get",
  "logs.tail",
  "metrics",
  "rpc.discover",
]);

/** What a timed-out command may still do: a request already written is read when the daemon wakes. */
function unansweredHint(methods: readonly string[]): string {
  const acting = methods.filter((m) => !READ_ONLY.has(m));
  return acting.length
    ? `; ${acting.join(", ")} was sent and may still be carried out when the daemon gets to it`
    : "";
}

/** Runs a command with --timeout over the whole of it; when that runs out the connection is dropped. */
async function runBounded(cmd: CtlCommand, args: CtlArgs, io: CtlIo, session: CtlSession): Promise<void> {
  // A global option given twice (the shell's defaults, then the line's own): the last wins.
  const socketPaths = socketPathsFor(lastOf(args.socket) as string | undefined);
  const verbose = Boolean(lastOf(args.verbose));
  const timeoutMs = args.timeout as number;
  let reached: ControlClient | null = null;
  const dropClient = () => {
    void session.client?.then(
      (c) => c.close(),
      () => {},
    );
    session.client = undefined;
  };
  const expiry = new AbortController();
  const bound = new CommandBound(
    timeoutMs,
    () => `${reached?.path ?? socketPaths.join(" or ")}${unansweredHint(reached?.unanswered ?? [])}`,
    () => {
      expiry.abort();
      dropClient();
    },
  );
  const ctx: CtlContext = {
    client: () => {
      if (session.client) return session.client;
      const connecting = ControlClient.connectFirst(socketPaths, timeoutMs, (from, to) => {
        if (verbose) io.err(`tsctl: nothing answers at ${from}; trying ${to}`);
      }).then((client) => {
        if (verbose) io.err(`tsctl: using ${client.path}`);
        return client;
      });
      session.client = connecting;
      const forget = () => {
        if (session.client === connecting) session.client = undefined;
      };
      connecting.then((client) => {
        reached = client;
        // The daemon hung up (it stopped or restarted): the shell's next command connects afresh.
        void client.closed().then(forget);
      }, forget);
      return connecting;
    },
    dropClient,
    json: Boolean(lastOf(args.json)),
    out: io.out,
    err: io.err,
    interactive: io.interactive,
    confirm: async (question) => {
      bound.pause();
      try {
        return await io.confirm(question);
      } finally {
        bound.resume();
      }
    },
    untilInterrupted: (done) => {
      bound.cancel();
      return Promise.race([done, io.interrupted()]);
    },
    timeoutMs,
    signal: expiry.signal,
    extendTimeout: (ms) => bound.extend(ms),
  };
  try {
    await Promise.race([cmd.run(ctx, args), bound.expired]);
  } finally {
    bound.cancel();
  }
}
