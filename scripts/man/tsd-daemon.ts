/**
 * tsd-daemon(8), from the daemon's own option table (daemon/primary/options.ts DAEMON_OPTIONS)
 * and its list of live options: an option added there is on the page at the next
 * `npm run man`, and test/unit/ctl-man-page.test.ts fails until it is.
 */
import type { Options } from "yargs";
import { LIVE_OPTIONS } from "../../daemon/primary/live-settings.ts";
import { DAEMON_OPTIONS, envName } from "../../daemon/primary/options.ts";
import { RELOAD_STEPS } from "../../daemon/primary/reload.ts";
import { bold, esc, italic, section, tagged, title } from "./roff.ts";

/** What an option's value is called on the page. */
const VALUE_NAMES: Record<string, string> = {
  host: "ADDRESS",
  "metrics-host": "ADDRESS",
  "state-dir": "DIR",
  "log-dir": "DIR",
  socket: "PATH",
  "socket-group": "GROUP",
  motd: "FILE",
  "tls-cert": "FILE",
  "tls-key": "FILE",
  "reserved-names": "NAMES",
  "plaintext-chat": "yes|no",
};

/** A description as a sentence: capital first, full stop last. */
function sentence(text: string): string {
  const trimmed = text.trim().replace(/\.$/, "");
  return `${esc(trimmed.charAt(0).toUpperCase() + trimmed.slice(1))}.`;
}

function optionTag(name: string, spec: Options): string {
  if (spec.type === "boolean") return spec.default === true ? bold(`--no-${name}`) : bold(`--${name}`);
  const value = spec.choices ? (spec.choices as readonly string[]).join("|") : (VALUE_NAMES[name] ?? "N");
  return `${bold(`--${name}`)} ${italic(value)}`;
}

function shownDefault(spec: Options): string {
  if (spec.type === "boolean") return "";
  if (spec.defaultDescription !== undefined) return ` (default ${spec.defaultDescription})`;
  if (spec.default === undefined || (Array.isArray(spec.default) && spec.default.length === 0)) return "";
  return ` (default ${String(spec.default)})`;
}

function optionEntry(name: string, spec: Options): string[] {
  const live = (LIVE_OPTIONS as readonly string[]).includes(name)
    ? [".br", "Changes while the daemon runs: \\fBtsctl config set\\fR, or the config file and a reload."]
    : [];
  const describe = String(spec.describe ?? "");
  const text =
    spec.type === "boolean" && spec.default === true
      ? `do not ${describe.replace(/\s*\(--no-[a-z-]+ disables it\)/, "")} (by default it does)`
      : `${describe}${shownDefault(spec)}`;
  return [...tagged(optionTag(name, spec), sentence(text)), ...live];
}

export function tsdDaemonPage(): string {
  const options = Object.entries(DAEMON_OPTIONS as Record<string, Options>).filter(
    ([, spec]) => !spec.hidden,
  );
  const lines = [
    title("tsd-daemon", 8, "System Administration"),
    ...section("NAME", "tsd\\-daemon \\- line\\-chat daemon: authenticated chat and echo over TCP"),
    ...section("SYNOPSIS", ".B tsd\\-daemon", ".RI [ options ]", ".br", ".B tsd\\-daemon \\-\\-print\\-unit"),
    ...section(
      "DESCRIPTION",
      ".B tsd\\-daemon",
      "serves an authenticated multi\\-user chat (default port 4040) and an RFC 862 echo",
      "service (default port 4007) that people reach with",
      ".BR nc (1),",
      ".BR telnet (1)",
      "or",
      ".BR tschat (1).",
      "It runs in the foreground, as a systemd service of",
      ".B Type=notify",
      "does: a cluster of worker processes, each with session threads, and a primary that",
      "holds the hub and the control socket that",
      ".BR tsctl (8)",
      "uses. When it is ready it prints one line,",
      "\\fBtsd\\-daemon ready:\\fR with its listeners, to stdout.",
    ),
    ...section(
      "OPTIONS",
      "Every option can also be given as an environment variable",
      `(${bold("--chat-port")} is ${bold(envName("chat-port"))}) or in a JSON file named by`,
      ".BR \\-\\-config ;",
      "flags win over the environment, which wins over the file. A \\fBTSD_\\fR variable that",
      "is not an option is bad usage.",
      ...tagged(
        bold("--print-unit"),
        "Print a systemd unit that runs this installation of tsd with its own Node, and exit.",
      ),
      ...options.flatMap(([name, spec]) => optionEntry(name, spec)),
      ...tagged(
        `${bold("--config")} ${italic("FILE")}`,
        'A JSON object of options by their names here, e.g. \\fB{"flood\\-rate": 10}\\fR; reread by a reload.',
      ),
      ...tagged(bold("--version"), "Print the version and exit."),
      ...tagged(bold("--help"), "Every option with its default."),
    ),
    ...section(
      "LIVE SETTINGS",
      `${LIVE_OPTIONS.map((name) => bold(`--${name}`)).join(", ")}`,
      "change while the daemon runs, for every session at once:",
      ".B tsctl config set",
      ".I NAME VALUE",
      "(checked as the flag is), or the config file and",
      '.BR "tsctl reload" .',
      "Any other option needs a restart.",
    ),
    ...section(
      "SIGNALS",
      ...tagged(
        '.BR SIGTERM ", " SIGINT',
        "Stop gracefully: clients are told and get 5 seconds to go, then the daemon exits 0.",
      ),
      ...tagged(
        ".B SIGHUP",
        `Reload, as \\fBtsctl reload\\fR does, in these steps: ${RELOAD_STEPS.join(", ")}`,
        "(the config file's live options; reopen \\fBtsd.log\\fR, for",
        ".BR logrotate (8);",
        "reread \\fB\\-\\-motd\\fR; the TLS certificate and key, with TLS on).",
      ),
    ),
    ...section(
      "FILES",
      ...tagged(
        ".I /usr/lib/systemd/system/tsd.service",
        "The unit (from the Debian package); state in \\fI/var/lib/tsd\\fR, logs in",
        "\\fI/var/log/tsd\\fR, the control socket \\fI/run/tsd/control.sock\\fR.",
      ),
    ),
    ...section(
      "EXIT STATUS",
      "0 after a graceful stop; 1 when it cannot start (a port in use, named; a state directory",
      "locked by another daemon); 2 for bad usage: one line naming the flag, the variable, or the",
      "config file with its line and column.",
    ),
    ...section("SEE ALSO", ".BR tsctl (8),", ".BR tschat (1),", ".BR systemctl (1),", ".BR journalctl (1)"),
  ];
  return `${lines.join("\n")}\n`;
}
