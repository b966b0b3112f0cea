import type { ControlMethodName, NewControlMethodName } from "../../../protocol/rpc.ts";
import { type ConfigControl, configHandlers } from "./config.ts";
import type { Serve } from "./control-server.ts";
import { discoverHandler } from "./method-descriptions.ts";
import { type DebugControl, debugHandlers } from "./debug.ts";
import { type IdentitiesControl, identitiesHandlers } from "./identities.ts";
import { type LogsControl, logsHandlers } from "./logs.ts";
import { type ModerationControl, moderationHandlers } from "./moderation.ts";
import { type MetricsControl, metricsHandlers } from "./metrics.ts";
import { type StatusControl, statusHandlers } from "./status.ts";
import { type UsersControl, usersHandlers } from "./users.ts";

/** What the control methods can ask of the running daemon, one interface per method group. */
export type DaemonControl = StatusControl &
  LogsControl &
  UsersControl &
  IdentitiesControl &
  ModerationControl &
  DebugControl &
  ConfigControl &
  MetricsControl;

/** The method table: every method of control.md with its handler; debug.crashThread only with --debug-faults. */
export type ControlMethods = {
  [M in Exclude<ControlMethodName, "debug.crashThread" | NewControlMethodName>]: Serve<M>;
} & {
  "debug.crashThread"?: Serve<"debug.crashThread">;
} & { [M in NewControlMethodName]?: Serve<M> };

/** The control socket's method table, kept in name order (a test checks it). */
export function buildControlMethods(
  daemon: DaemonControl,
  defaultGraceMs: number,
  opts: { debugFaults?: boolean } = {},
): ControlMethods {
  const { serveConfigGet, serveConfigSet, serveReload } = configHandlers(daemon);
  const { serveDebugCrashThread } = debugHandlers(daemon);
  const { serveIdentitiesList, serveIdentitiesWipe } = identitiesHandlers(daemon);
  const { serveLogsClear, serveLogsReopen, serveLogsTail } = logsHandlers(daemon);
  const {
    serveBansAdd,
    serveBansList,
    serveBansRemove,
    serveIdentitiesRemove,
    serveIdentitiesReset,
    serveUsersMute,
    serveUsersUnmute,
  } = moderationHandlers(daemon);
  const { serveMetrics } = metricsHandlers(daemon);
  const { servePause, serveResume, serveStatus, serveStop } = statusHandlers(daemon, defaultGraceMs);
  const { serveChatAnnounce, serveUsersKick, serveUsersList } = usersHandlers(daemon);
  const table: ControlMethods = {
    "bans.add": serveBansAdd,
    "bans.list": serveBansList,
    "bans.remove": serveBansRemove,
    "chat.announce": serveChatAnnounce,
    "config.get": serveConfigGet,
    "config.set": serveConfigSet,
    ...(opts.debugFaults ? { "debug.crashThread": serveDebugCrashThread } : {}),
    "identities.list": serveIdentitiesList,
    "identities.remove": serveIdentitiesRemove,
    "identities.reset": serveIdentitiesReset,
    "identities.wipe": serveIdentitiesWipe,
    "logs.clear": serveLogsClear,
    "logs.reopen": serveLogsReopen,
    "logs.tail": serveLogsTail,
    metrics: serveMetrics,
    pause: servePause,
    reload: serveReload,
    resume: serveResume,
    "rpc.discover": discoverHandler(() => Object.keys(table)),
    status: serveStatus,
    stop: serveStop,
    "users.kick": serveUsersKick,
    "users.list": serveUsersList,
    "users.mute": serveUsersMute,
    "users.unmute": serveUsersUnmute,
  };
  return table;
}
