/**
 * tsctl(8), from tsctl's own command and option tables (ctl/cli.ts COMMANDS and
 * GLOBAL_OPTIONS): a command or an option added there is on the page at the next
 * `npm run man`, and test/unit/ctl-man-page.test.ts fails until it is.
 */
import type { Options, PositionalOptions } from "yargs";
import { COMMANDS, GLOBAL_OPTIONS } from "../../ctl/cli.ts";
import type { CtlCommand } from "../../ctl/command.ts";
import { HISTORY_LINES } from "../../ctl/history.ts";
import { synopsis } from "../../ctl/usage.ts";
import { bold, esc, italic, section, tagged, title } from "./roff.ts";

/** What an option's value is called on the page, where "VALUE" says too little. */
const VALUE_NAMES: Record<string, string> = { socket: "PATH" };

/** A description as a sentence: capital first, full stop last. */
function sentence(text: string): string {
  const trimmed = text.trim().replace(/\.$/, "");
  return `${esc(trimmed.charAt(0).toUpperCase() + trimmed.slice(1))}.`;
}

/** "--grace DURATION", "-n, --lines N", "--yes". */
function optionTag(name: string, spec: Options): string {
  const names = [name, ...(spec.alias === undefined ? [] : [spec.alias].flat())].map((n) =>
    bold(n.length === 1 ? `-${n}` : `--${n}`),
  );
  if (spec.type === "boolean") {
    const negated = spec.default === true ? [bold(`--no-${name}`)] : [];
    return [...names, ...negated].join(", ");
  }
  const value = VALUE_NAMES[name] ?? (spec.coerce ? "DURATION" : spec.type === "number" ? "N" : "VALUE");
  return `${names.join(", ")} ${italic(value)}`;
}

function optionBody(spec: Options): string {
  const shownDefault =
    spec.default === undefined || spec.type === "boolean" ? "" : ` (default ${String(spec.default)})`;
  return sentence(`${String(spec.describe ?? "")}${shownDefault}`);
}

/** "tsctl kick NAME [REASON...]" with the command in bold and the arguments in italics. */
function commandTag(cmd: CtlCommand): string {
  const [name, ...rest] = synopsis(cmd).split(" ");
  return [bold(name!), ...rest.map((word) => word.replace(/[A-Za-z][\w|.-]*/g, (w) => italic(w)))].join(" ");
}

function positionalLines(positionals: Record<string, PositionalOptions> | undefined): string[] {
  return Object.entries(positionals ?? {}).flatMap(([name, spec]) =>
    spec.describe ? [".br", `${italic(name.toUpperCase())}: ${sentence(String(spec.describe))}`] : [],
  );
}

function commandEntry(cmd: CtlCommand): string[] {
  const options = Object.entries(cmd.options ?? {});
  return [
    ...tagged(commandTag(cmd), sentence(cmd.describe), ...positionalLines(cmd.positionals)),
    ...(options.length
      ? [".RS", ...options.flatMap(([name, spec]) => tagged(optionTag(name, spec), optionBody(spec))), ".RE"]
      : []),
  ];
}

export function tsctlPage(): string {
  const lines = [
    title("tsctl", 8, "System Administration"),
    ...section("NAME", "tsctl \\- control a running tsd\\-daemon"),
    ...section(
      "SYNOPSIS",
      ".B tsctl",
      ".RI [ options ]",
      ".I command",
      ".RI [ arguments ]",
      ".br",
      ".B tsctl",
      ".RI [ options ]",
    ),
    ...section(
      "DESCRIPTION",
      ".B tsctl",
      "talks to",
      ".BR tsd\\-daemon (8)",
      "over its control socket (JSON\\-RPC 2.0, one JSON text per line). The whole command line is",
      "checked before anything is sent: an unknown option, a missing or malformed argument is bad",
      "usage (exit 2) and changes nothing. With no command it is an interactive shell.",
    ),
    ...section("COMMANDS", ...COMMANDS.flatMap(commandEntry)),
    ...section(
      "SHELL",
      "With no command, tsctl reads commands with the prompt",
      "\\fBtsd>\\fR,",
      "plus",
      ".B help",
      "and",
      ".BR exit .",
      "Ctrl\\-C discards the line being typed; Ctrl\\-D or",
      ".B exit",
      `leaves. History is kept between runs (the last ${HISTORY_LINES} lines, mode 0600). Tab completes`,
      "commands, their actions and options, and the names of the users online after",
      '.BR kick ", " mute ", " unmute " and " ban .',
      "From a pipe it reads one command a line and exits with the code of the first command",
      "that failed (0 if none).",
    ),
    ...section(
      "OPTIONS",
      ...Object.entries(GLOBAL_OPTIONS).flatMap(([name, spec]) =>
        tagged(optionTag(name, spec as Options), optionBody(spec as Options)),
      ),
      ...tagged(bold("--help"), "The commands, or one command's arguments and options."),
      ...tagged(bold("--version"), "tsctl's version."),
      ".PP",
      "Without",
      ".BR \\-\\-socket ,",
      "tsctl takes \\fB$TSD_SOCKET\\fR, \\fB$RUNTIME_DIRECTORY/control.sock\\fR,",
      "\\fB$XDG_RUNTIME_DIR/tsd/control.sock\\fR or \\fB/tmp/tsd\\-\\fIuid\\fB/control.sock\\fR, first",
      "match wins; when nothing answers there (and neither \\fB\\-\\-socket\\fR nor \\fBTSD_SOCKET\\fR",
      "was given) it tries the systemd service's \\fI/run/tsd/control.sock\\fR.",
      ".PP",
      "\\fB\\-\\-timeout\\fR bounds the whole command; when it runs out tsctl says so and exits 1 (a",
      "request already sent may still be carried out when the daemon gets to it).",
      "\\fBstop\\fR waits for the daemon's exit for up to its grace plus \\fB\\-\\-timeout\\fR.",
      "With \\fB\\-\\-json\\fR, an error is one JSON object on stderr:",
      '\\fB{"error": {"message", "code", "exitCode"}}\\fR, where code is the daemon\'s JSON\\-RPC',
      "error code, or null for tsctl's own errors.",
    ),
    ...section(
      "EXIT STATUS",
      "0 success; 1 the daemon answered with an error, or \\fB\\-\\-timeout\\fR ran out; 2 bad usage;",
      "3 the daemon is not running (the message names every socket tried); 4 permission denied",
      "on the socket (join the group given to the daemon with \\fB\\-\\-socket\\-group\\fR,",
      "\\fBtsd\\-operators\\fR for the service).",
    ),
    ...section(
      "ENVIRONMENT",
      ...tagged(bold("TSD_SOCKET"), "The control socket, as \\fB\\-\\-socket\\fR."),
      ...tagged(
        bold("XDG_STATE_HOME"),
        "Where the shell keeps its history: \\fI$XDG_STATE_HOME/tsd/tsctl_history\\fR, else",
        "\\fI~/.local/state/tsd/tsctl_history\\fR.",
      ),
    ),
    ...section(
      "EXAMPLES",
      ".nf",
      "tsctl ban 10.0.0.0/8 spam \\-\\-for 1h",
      "tsctl mute mallory \\-\\-for 10m",
      "tsctl config set flood\\-rate 10",
      "tsctl identities reset alice",
      "tsctl stop \\-\\-grace 10s",
      "tsctl completion bash > /etc/bash_completion.d/tsctl",
      ".fi",
    ),
    ...section("SEE ALSO", ".BR tsd\\-daemon (8),", ".BR tschat (1)"),
  ];
  return `${lines.join("\n")}\n`;
}
