import fs from "node:fs";
import os from "node:os";
import yargs, { type Options } from "yargs";
import { checkName } from "../../protocol/names.ts";
import { type LogLevel, WORKER_CONFIG_ENV } from "../../protocol/hub-messages.ts";
import { MAX_LINE_CEILING } from "../shared/limits.ts";
import { readConfigFile } from "./config-file.ts";
import { readVersion } from "./version.ts";

export interface DaemonOptions {
  host: string;
  chatPort: number | null;
  echoPort: number | null;
  workers: number;
  threads: number;
  stateDir: string | undefined;
  logDir: string | undefined;
  socket: string | undefined;
  socketGroup: string | undefined;
  logLevel: LogLevel;
  logFormat: "text" | "json";
  logMaxBytes: number;
  logKeep: number;
  maxLine: number;
  loginTimeout: number;
  maxPerAddress: number;
  registrationsPerHour: number;
  floodBurst: number;
  floodRate: number;
  floodQueue: number;
  outputLimit: number;
  historyKeep: number;
  historyMaxBytes: number;
  reservedNames: string[];
  /** The message of the day's file (--motd), shown at sign-in; undefined: none. */
  motd: string | undefined;
  threadTimeout: number;
  console: boolean;
  debugFaults: boolean;
  /** GET /metrics in Prometheus's format (--metrics-port, --metrics-host); null when off. */
  metrics: { host: string; port: number } | null;
  /** The chat service over TLS: its port and the certificate and key files; null when TLS is off. */
  tls: { port: number; certFile: string; keyFile: string } | null;
  /** Whether chat is served over plain TCP too (--plaintext-chat no: only over TLS). */
  plaintextChat: boolean;
  /** Several daemons on one Redis (--hub redis, docs/cluster.md); null: the embedded hub. */
  cluster: { redisUrl: string; name: string; nodeId: string | undefined; connectTimeoutMs: number } | null;
  /** --import-identities FILE: copy that identities.json into the cluster's accounts, and exit. */
  importIdentities: string | undefined;
  /** Every option's value in force, by its command-line name (config.get; config.set changes the live ones). */
  inForce: OptionValues;
  /** The --config file, reread by reload for its live options. */
  configFile: string | undefined;
  /** The options given by flag or TSD_* variable: they win over the config file, at a reload too. */
  pinned: ReadonlySet<string>;
}

/** Option values by command-line name, as config.get answers them. */
export type OptionValues = Record<string, string | number | boolean | string[] | null>;

/**
 * Defaults measured on a 2-core machine with `npm run bench` (docs/architecture.md): one
 * process with two session threads gave the most echo messages/s and the lowest p99 there
 * (two event loops, one process's memory); two processes of one thread each, plus the
 * primary, fought over the same two cores (p99 x2.7). A process allowed one CPU (a 1-core VPS,
 * taskset, a cgroup cpuset) gets one thread: two loops time-sliced on one core cost fan-out
 * latency (p99 x2.7-3.9, docs/performance.md). On bigger machines raise --workers.
 */
export const DEFAULT_WORKERS = 1;
export const DEFAULT_THREADS = Math.min(2, os.availableParallelism());

/**
 * A whole number as a flag, a TSD_* variable or a JSON file gives it: a JSON number, or decimal
 * digits (a sign and spaces around allowed); anything else is NaN, so the coercer refuses it.
 * Number() alone would read "" (an unset shell variable in `--chat-port "$PORT"`) and [] as 0,
 * turning flood control or the per-address cap off, or taking any free port, without a word.
 */
function wholeNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
  return Number.NaN;
}

function port(name: string) {
  return (value: unknown): number => {
    const n = wholeNumber(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new Error(`--${name} must be a port number 0-65535`);
    return n;
  };
}

/** A comma-separated list (flag, env) or a JSON array (config file) of names, each a valid name. */
function nameList(name: string) {
  return (value: unknown): string[] => {
    const items = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v ?? "").split(","));
    return items
      .map((item) => item.trim())
      .filter((item) => item !== "")
      .map((item) => {
        const checked = checkName(item);
        if (!checked.ok)
          throw new Error(`--${name}: ${JSON.stringify(item)} is not a valid name (${checked.reason})`);
        return checked.name;
      });
  };
}

function positive(name: string, min: number, max: number) {
  return (value: unknown): number => {
    const n = wholeNumber(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name} must be an integer ${min}-${max}`);
    return n;
  };
}

/**
 * A cluster or node name: it becomes part of Redis key names (where `{` `}` would change the key's
 * hash slot) and of status and log lines (where a newline would break them), so letters, digits
 * and `.` `_` `-` only, as in a host name.
 */
function clusterName(name: string) {
  return (value: unknown): string => {
    const text = String(value ?? "");
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(text))
      throw new Error(`--${name} must be 1-64 letters, digits, '.', '_' or '-'`);
    return text;
  };
}

/**
 * Every option of tsd-daemon, by its command-line name: the parser, config.get/config.set (their
 * values are checked by the same coercers) and the manual page (scripts/man-pages.ts) all read
 * this one table, so they cannot drift apart.
 */
export const DAEMON_OPTIONS = {
  host: {
    type: "string",
    default: "127.0.0.1",
    describe: "address to listen on (0.0.0.0 or :: to expose)",
  },
  "chat-port": { default: 4040, coerce: port("chat-port"), describe: "chat port, 0 = any free port" },
  "echo-port": {
    default: 4007,
    coerce: port("echo-port"),
    describe: "echo port (RFC 862), 0 = any free port",
  },
  chat: { type: "boolean", default: true, describe: "serve chat (--no-chat disables it)" },
  echo: { type: "boolean", default: true, describe: "serve echo (--no-echo disables it)" },
  workers: { default: DEFAULT_WORKERS, coerce: positive("workers", 1, 64), describe: "worker processes" },
  threads: {
    default: DEFAULT_THREADS,
    defaultDescription:
      "2; 1 where the process may run on one CPU only (taskset, cpuset; a CPU quota does not count)",
    coerce: positive("threads", 1, 64),
    describe: "session threads per worker",
  },
  "state-dir": {
    type: "string",
    describe: "state directory [$STATE_DIRECTORY, $XDG_STATE_HOME/tsd, ~/.local/state/tsd]",
  },
  "log-dir": { type: "string", describe: "log directory [$LOGS_DIRECTORY, the state directory]" },
  socket: {
    type: "string",
    describe: "control socket [$TSD_SOCKET, $RUNTIME_DIRECTORY/control.sock, ...]",
  },
  "socket-group": {
    type: "string",
    describe: "group allowed to use the control socket (dir 0750, socket 0660)",
  },
  "log-level": {
    choices: ["error", "warn", "info", "debug"] as const,
    default: "info" as const,
    describe: "records logged from this level up (debug: message bodies too)",
  },
  "log-format": {
    choices: ["text", "json"] as const,
    default: "text" as const,
    describe: "log line format",
  },
  "log-max-bytes": {
    default: 0,
    coerce: positive("log-max-bytes", 0, 2 ** 40),
    describe: "rotate tsd.log past this size, 0 = never (use logrotate)",
  },
  "log-keep": {
    default: 5,
    coerce: positive("log-keep", 0, 1000),
    describe: "rotated log files kept (tsd.log.1 ...)",
  },
  "max-line": {
    default: 4096,
    coerce: positive("max-line", 16, MAX_LINE_CEILING),
    describe: "longest chat input line, bytes",
  },
  "login-timeout": {
    default: 60,
    coerce: positive("login-timeout", 1, 3600),
    describe: "seconds to sign in",
  },
  "max-per-address": {
    default: 50,
    coerce: positive("max-per-address", 0, 1 << 20),
    describe: "connections per client address, 0 = no cap",
  },
  // 20: a class or an office behind one address can all register at once; a bot gets 20 an hour per /24.
  "registrations-per-hour": {
    default: 20,
    coerce: positive("registrations-per-hour", 0, 1 << 20),
    describe: "new accounts an hour per /24 (IPv6 /56), 4x that per /16 (/48), 0 = no bound",
  },
  "flood-burst": {
    default: 20,
    coerce: positive("flood-burst", 1, 1 << 20),
    describe: "lines a user may send at once",
  },
  "flood-rate": {
    default: 5,
    coerce: positive("flood-rate", 0, 1 << 20),
    describe: "lines per second after the burst, 0 = no flood control",
  },
  "flood-queue": {
    default: 100,
    coerce: positive("flood-queue", 0, 10_000),
    describe: "lines beyond the burst that wait their turn; past it lines are dropped (and counted)",
  },
  "output-limit": {
    default: 1 << 20,
    coerce: positive("output-limit", 4096, 1 << 30),
    describe: "bytes queued for a client before it is disconnected",
  },
  "history-keep": {
    default: 1000,
    coerce: positive("history-keep", 500, 1_000_000),
    describe: "history records kept in memory",
  },
  "history-max-bytes": {
    default: 16 << 20,
    coerce: positive("history-max-bytes", 65_536, 1 << 30),
    describe: "history file size before it is compacted",
  },
  "thread-timeout": {
    default: 20,
    coerce: positive("thread-timeout", 2, 3600),
    describe: "seconds a session thread may leave its hub's pings unanswered before it is restarted",
  },
  "reserved-names": {
    default: [] as string[],
    defaultDescription: "none besides server",
    coerce: nameList("reserved-names"),
    describe: "names nobody may register, comma separated, besides server (look-alikes too)",
  },
  motd: {
    type: "string",
    describe:
      "a message of the day shown at sign-in (at most 4 KiB and 20 lines; sanitised; reread on SIGHUP)",
  },
  "debug-faults": {
    type: "boolean",
    default: false,
    hidden: true,
    describe: "debug only: enable the debug.crashThread control method (fault injection for tests)",
  },
  console: { type: "boolean", default: false, describe: "read operator commands from the terminal" },
  "metrics-port": {
    coerce: port("metrics-port"),
    defaultDescription: "off",
    describe: "serve GET /metrics (Prometheus text format) on this port, 0 = any free port",
  },
  "metrics-host": { type: "string", default: "127.0.0.1", describe: "address of --metrics-port" },
  "tls-port": { default: 4041, coerce: port("tls-port"), describe: "chat over TLS port, 0 = any free port" },
  "tls-cert": {
    type: "string",
    describe: "TLS certificate (PEM, chain after it); with --tls-key, chat is served over TLS too",
  },
  "tls-key": { type: "string", describe: "TLS private key (PEM) of --tls-cert" },
  "plaintext-chat": {
    default: "yes",
    coerce: yesNo("plaintext-chat"),
    describe: "serve chat over plain TCP too; no: only over TLS (echo is unaffected)",
  },
  hub: {
    choices: ["embedded", "redis"] as const,
    default: "embedded" as const,
    describe:
      "embedded: this daemon alone; redis: one chat with every daemon on --redis-url (docs/cluster.md)",
  },
  "redis-url": {
    type: "string",
    default: "redis://127.0.0.1:6379",
    describe: "the cluster's Redis, redis[s]://[:password@]host:port[/db] (--hub redis)",
  },
  cluster: {
    type: "string",
    default: "tsd",
    coerce: clusterName("cluster"),
    describe: "the cluster's name: one Redis can hold several clusters (--hub redis)",
  },
  "node-id": {
    type: "string",
    coerce: clusterName("node-id"),
    defaultDescription: "hostname and a random suffix",
    describe: "this daemon's name in the cluster's status and who (--hub redis)",
  },
  "redis-connect-timeout": {
    default: 10,
    coerce: positive("redis-connect-timeout", 1, 3600),
    describe: "seconds to wait for Redis at start before exiting 1 (--hub redis)",
  },
  "import-identities": {
    type: "string",
    describe: "copy the accounts of this identities.json into the cluster's (--hub redis), report, and exit",
  },
} satisfies Record<string, Options>;

/** A redis:// URL with its password (if any) replaced by ***. */
function redactRedisPassword(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, "$1***@");
}

/** yes/no (true/false from a config file too), as "yes" or "no". */
function yesNo(name: string) {
  return (value: unknown): "yes" | "no" => {
    if (value === "yes" || value === true || value === "true") return "yes";
    if (value === "no" || value === false || value === "false") return "no";
    throw new Error(`--${name} must be yes or no`);
  };
}

/** Importing accounts into a cluster needs the cluster. */
function checkClusterUsage(argv: Record<string, unknown>): true {
  if (argv["import-identities"] !== undefined && argv.hub !== "redis")
    throw new Error("--import-identities needs --hub redis (the accounts go into the cluster's Redis)");
  return true;
}

/** TLS needs both files; serving chat only over TLS needs TLS. */
function checkTlsUsage(argv: Record<string, unknown>): true {
  const cert = argv["tls-cert"];
  const key = argv["tls-key"];
  if ((cert === undefined) !== (key === undefined))
    throw new Error(cert === undefined ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key");
  if (argv["plaintext-chat"] === "no" && cert === undefined)
    throw new Error("--plaintext-chat no needs --tls-cert and --tls-key (chat would not be served at all)");
  return true;
}

/**
 * Each service listens on a port of its own: two on one port (--chat-port 4000 --echo-port
 * 4000) would both bind it, the threads' listeners sharing it, and each connection would reach
 * chat or echo by chance. Port 0 (any free port) may repeat.
 */
function checkPortUsage(argv: Record<string, unknown>): true {
  const ports: [string, unknown][] = [];
  if (argv.chat && argv["plaintext-chat"] !== "no") ports.push(["--chat-port", argv["chat-port"]]);
  if (argv.echo) ports.push(["--echo-port", argv["echo-port"]]);
  if (argv.chat && argv["tls-cert"] !== undefined) ports.push(["--tls-port", argv["tls-port"]]);
  const taken = new Map<unknown, string>();
  for (const [flag, port] of ports) {
    if (port === 0) continue;
    const other = taken.get(port);
    if (other) throw new Error(`${other} and ${flag} are both ${port}: each service needs a port of its own`);
    taken.set(port, flag);
  }
  return true;
}

/** Flags, then env TSD_*, then the JSON file of --config, then the defaults (control.md). */
export async function parseDaemonOptions(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<DaemonOptions> {
  checkEnvironment(env);
  const parsed = await yargs(argv)
    .scriptName("tsd-daemon")
    .usage(
      "$0 [options]\n\nRuns the tsd chat and echo daemon in the foreground.\n$0 --print-unit prints a systemd unit for this installation (docs/operations.md).",
    )
    .env("TSD")
    .parserConfiguration({ "duplicate-arguments-array": false })
    .config("config", "a JSON file of options (flags and TSD_* env win over it)", readOptionsFile)
    .options(DAEMON_OPTIONS)
    .check(checkTlsUsage)
    .check(checkClusterUsage)
    .check(checkPortUsage)
    .strict()
    .version("version", "print the version and exit", readVersion())
    .help()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, error) => {
      throw usageError(argv, message, error);
    })
    .parseAsync();
  for (const [key, def] of Object.entries(DAEMON_OPTIONS) as [string, Options][])
    if (def.type === "string" && parsed[key] === "") throw new UsageError(`--${key} needs a value`);
  const inForce: OptionValues = {};
  for (const [key, def] of Object.entries(DAEMON_OPTIONS)) {
    if ("hidden" in def && def.hidden) continue;
    inForce[key] = (parsed[key] as OptionValues[string] | undefined) ?? null;
  }
  // config.get never shows a secret: the Redis URL's password is masked.
  if (typeof inForce["redis-url"] === "string")
    inForce["redis-url"] = redactRedisPassword(inForce["redis-url"]);
  const configFile = typeof parsed.config === "string" ? parsed.config : undefined;
  if (configFile !== undefined) inForce.config = configFile;
  return {
    inForce,
    configFile,
    pinned: pinnedOptions(argv, env),
    host: parsed.host,
    chatPort: parsed.chat ? parsed["chat-port"] : null,
    echoPort: parsed.echo ? parsed["echo-port"] : null,
    workers: parsed.workers,
    threads: parsed.threads,
    stateDir: parsed["state-dir"],
    logDir: parsed["log-dir"],
    socket: parsed.socket,
    socketGroup: parsed["socket-group"],
    logLevel: parsed["log-level"],
    logFormat: parsed["log-format"],
    logMaxBytes: parsed["log-max-bytes"],
    logKeep: parsed["log-keep"],
    maxLine: parsed["max-line"],
    loginTimeout: parsed["login-timeout"],
    maxPerAddress: parsed["max-per-address"],
    registrationsPerHour: parsed["registrations-per-hour"],
    floodBurst: parsed["flood-burst"],
    floodRate: parsed["flood-rate"],
    floodQueue: parsed["flood-queue"],
    outputLimit: parsed["output-limit"],
    historyKeep: parsed["history-keep"],
    historyMaxBytes: parsed["history-max-bytes"],
    reservedNames: parsed["reserved-names"],
    motd: parsed.motd,
    threadTimeout: parsed["thread-timeout"],
    console: parsed.console,
    debugFaults: parsed["debug-faults"],
    metrics:
      parsed["metrics-port"] === undefined
        ? null
        : { host: parsed["metrics-host"], port: parsed["metrics-port"] },
    tls:
      parsed["tls-cert"] !== undefined && parsed["tls-key"] !== undefined && parsed.chat
        ? { port: parsed["tls-port"], certFile: parsed["tls-cert"], keyFile: parsed["tls-key"] }
        : null,
    plaintextChat: parsed["plaintext-chat"] === "yes",
    cluster:
      parsed.hub === "redis"
        ? {
            redisUrl: parsed["redis-url"],
            name: parsed.cluster,
            nodeId: parsed["node-id"],
            connectTimeoutMs: parsed["redis-connect-timeout"] * 1000,
          }
        : null,
    importIdentities: parsed["import-identities"],
  };
}

/** Bad usage: the message is one line naming the flag, the TSD_* variable or the config file; exit 2. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** TSD_* variables that are not options but are the daemon's own (a worker's config). */
const OTHER_VARIABLES = new Set([WORKER_CONFIG_ENV]);

/** The closest of names to name, if it is a likely typo (at most 2 edits). */
function closest(name: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of names) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * Every TSD_* variable is an option's (checked as the option is) or the daemon's own: an
 * unknown one is a typo that would otherwise be ignored silently.
 */
function checkEnvironment(env: NodeJS.ProcessEnv): void {
  const variables = new Map(Object.keys(DAEMON_OPTIONS).map((key) => [envName(key), key]));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("TSD_") || OTHER_VARIABLES.has(name)) continue;
    const key = variables.get(name);
    if (key === undefined) {
      const near = closest(name, variables.keys());
      throw new UsageError(
        `unknown variable ${name} in the environment${near ? ` (did you mean ${near}?)` : ""}`,
      );
    }
    try {
      checkOptionValue(key, value);
    } catch (error) {
      throw new UsageError(`${name}=${value}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** The --config file for yargs: read, and each option in it checked, naming the file and where. */
function readOptionsFile(file: string): Record<string, unknown> {
  let values: Record<string, unknown>;
  try {
    values = readConfigFile(file);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  checkConfigFileOptions(file, values);
  return values;
}

/**
 * Every option of a --config file's values is one of tsd-daemon's and holds a value it takes:
 * the same check at start and at each reload, so a file a reload accepts is one a restart
 * accepts too. Throws UsageError naming the file, the line and column, and the option.
 */
export function checkConfigFileOptions(file: string, values: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(values)) {
    const at = whereInFile(file, key);
    if (!Object.hasOwn(DAEMON_OPTIONS, key)) {
      const near = closest(key, Object.keys(DAEMON_OPTIONS));
      throw new UsageError(
        `config file ${file}${at}: "${key}" is not an option${near ? ` (did you mean "${near}"?)` : ""}`,
      );
    }
    try {
      checkOptionValue(key, value);
    } catch (error) {
      throw new UsageError(`config file ${file}${at}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** ", line L, column C" of "key" in the file, or "" (the file was read a moment ago; this is only for the message). */
function whereInFile(file: string, key: string): string {
  try {
    const text = fs.readFileSync(file, "utf8");
    const offset = text.indexOf(JSON.stringify(key));
    if (offset === -1) return "";
    const before = text.slice(0, offset);
    const line = before.split("\n").length;
    return `, line ${line}, column ${offset - before.lastIndexOf("\n")}`;
  } catch {
    return "";
  }
}

/** yargs' failure (an unknown flag, a bad value, a check) as one line that names the flag. */
function usageError(argv: readonly string[], message: string, error: Error | undefined): UsageError {
  if (error instanceof UsageError) return error;
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown) {
    const name = unknown[1]!.split(", ")[0]!;
    const asFlag = argv.some(
      (arg) => arg === `--${name}` || arg.startsWith(`--${name}=`) || arg === `-${name}`,
    );
    if (!asFlag)
      return new UsageError(`unexpected argument ${JSON.stringify(name)} (tsd-daemon takes options only)`);
    const near = closest(name, Object.keys(DAEMON_OPTIONS));
    return new UsageError(`unknown option --${name}${near ? ` (did you mean --${near}?)` : ""}`);
  }
  const choice = /Argument: ([^,]+), Given: (.*), Choices: (.*)$/m.exec(message);
  if (choice) {
    const choices = choice[3]!.replaceAll('"', "");
    return new UsageError(`--${choice[1]} must be one of ${choices}, not ${choice[2]}`);
  }
  return new UsageError(message.split("\n")[0]!, error ? { cause: error } : undefined);
}

/** The TSD_* variable of an option: TSD_FLOOD_RATE for flood-rate. */
export function envName(key: string): string {
  return `TSD_${key.toUpperCase().replaceAll("-", "_")}`;
}

/** The options named on the command line (--x, --x=1, --no-x) or by a TSD_* variable. */
function pinnedOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Set<string> {
  const pinned = new Set<string>();
  for (const arg of argv) {
    if (arg === "--") break;
    const match = /^--(?:no-)?([a-z0-9-]+)(?:=|$)/.exec(arg);
    if (match && Object.hasOwn(DAEMON_OPTIONS, match[1]!)) pinned.add(match[1]!);
  }
  for (const key of Object.keys(DAEMON_OPTIONS)) if (env[envName(key)] !== undefined) pinned.add(key);
  return pinned;
}

/** A value an option does not take: the message names the option and what it takes. */
export class BadOptionValue extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BadOptionValue";
  }
}

/**
 * An option's value checked as the parser checks it (the same coercer or list of choices), for
 * config.set and reload: the value as the option holds it, or BadOptionValue.
 */
export function checkOptionValue(key: string, value: unknown): OptionValues[string] {
  const def = (DAEMON_OPTIONS as Record<string, Options>)[key];
  if (!def) throw new BadOptionValue(`--${key} is not an option`);
  if (def.choices) {
    const choices = def.choices as readonly unknown[];
    if (!choices.includes(value))
      throw new BadOptionValue(`--${key} must be one of ${choices.join(", ")}, not ${JSON.stringify(value)}`);
    return value as string;
  }
  if (def.coerce) {
    // The coercers take what a flag or a JSON file gives: a number, text, or a list of names.
    const given = typeof value === "number" || (typeof value === "string" && value.trim() !== "");
    if (!given && !Array.isArray(value))
      throw new BadOptionValue(`--${key} needs a value, not ${JSON.stringify(value)}`);
    try {
      return def.coerce(value) as OptionValues[string];
    } catch (error) {
      throw new BadOptionValue((error as Error).message);
    }
  }
  if (def.type === "boolean") {
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    throw new BadOptionValue(`--${key} must be true or false`);
  }
  if (typeof value !== "string") throw new BadOptionValue(`--${key} must be a string`);
  return value;
}
