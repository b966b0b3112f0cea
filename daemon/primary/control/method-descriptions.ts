import type { ControlMethodName, MethodDescription } from "../../../protocol/rpc.ts";
import type { Serve } from "./control-server.ts";

type Described = Omit<MethodDescription, "name">;

/**
 * What rpc.discover answers: every control method's params (a trailing ? marks one that may be
 * left out) and one line on what it does. Keyed by every method name of protocol/rpc.ts, so a
 * method added there does not compile until it is described here; kept in name order.
 */
export const METHOD_DESCRIPTIONS: Record<ControlMethodName, Described> = {
  "bans.add": {
    params: { target: "string: an address, a CIDR or a name", "reason?": "string", "forSeconds?": "number" },
    description:
      "ban an address, a network or a name (kept across restarts); matching users online are disconnected",
  },
  "bans.list": { params: {}, description: "the bans in force, each with its reason and expiry" },
  "bans.remove": { params: { target: "string" }, description: "lift a ban" },
  "chat.announce": {
    params: { text: "string" },
    description: "say `* server: TEXT` to every signed-in user",
  },
  "config.get": {
    params: { "key?": "string: an option's name, e.g. flood-rate" },
    description: "the options in force by their command-line names (never a secret)",
  },
  "config.set": {
    params: { key: "string", value: "number or string" },
    description:
      "change a live option (flood-*, max-per-address, output-limit, login-timeout, max-line, log-level)",
  },
  "debug.crashThread": {
    params: { worker: "number", thread: "number", "mode?": '"throw" or "freeze"' },
    description: "fault injection for tests, only with --debug-faults: crash or freeze a session thread",
  },
  "identities.list": { params: {}, description: "every account: name, created, last sign-in and address" },
  "identities.remove": {
    params: { name: "string" },
    description: "remove one account; its user, if online, is disconnected",
  },
  "identities.reset": {
    params: { name: "string" },
    description: "replace an account's password with a one-time password, which is answered",
  },
  "identities.wipe": { params: {}, description: "remove every account" },
  "logs.clear": { params: {}, description: "empty the log file; logging goes on into it" },
  "logs.reopen": { params: {}, description: "reopen the log file (for logrotate)" },
  "logs.tail": {
    params: { "lines?": "number (50)", "follow?": "boolean" },
    description: "the last lines of the log; with follow, then logs.line notifications",
  },
  metrics: {
    params: {},
    description: "counters since start and gauges (also GET /metrics with --metrics-port)",
  },
  pause: { params: {}, description: "close every listener; sessions already open go on" },
  reload: {
    params: {},
    description:
      "as SIGHUP: reread the config file's live options, reopen the log, reread the MOTD, reload TLS",
  },
  resume: {
    params: {},
    description:
      "open the listeners again on the same ports; refused (-32010, still paused) if one was taken meanwhile",
  },
  "rpc.discover": { params: {}, description: "every method with its params and what it does" },
  status: {
    params: {},
    description: "version, uptime, listeners, workers and threads, sessions, users online",
  },
  stop: { params: { "graceMs?": "number" }, description: "stop gracefully, giving clients graceMs to go" },
  "users.kick": {
    params: { name: "string", "reason?": "string" },
    description: "disconnect a signed-in user",
  },
  "users.list": { params: {}, description: "the signed-in users: address, since, worker and thread, away" },
  "users.mute": {
    params: { name: "string", "forSeconds?": "number" },
    description: "mute a user: their chat, /me and /msg reach nobody",
  },
  "users.unmute": { params: { name: "string" }, description: "lift a mute" },
};

/** rpc.discover over a method table: the methods it serves (debug ones only when on), in name order. */
export function discoverHandler(methods: () => Iterable<string>): Serve<"rpc.discover"> {
  return () =>
    [...methods()]
      .filter((name): name is ControlMethodName => Object.hasOwn(METHOD_DESCRIPTIONS, name))
      .sort()
      .map((name) => ({ name, ...METHOD_DESCRIPTIONS[name] }));
}
