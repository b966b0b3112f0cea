import { type CtlCommand, printJson } from "../command.ts";
import { formatUptime } from "../duration.ts";
import { CTL_VERSION } from "../version.ts";

let warnedAboutVersion = false;

export const status: CtlCommand = {
  command: "status",
  describe: "show listeners, workers and sessions",
  async run(ctx) {
    const result = await (await ctx.client()).call("status");
    if (result.version !== CTL_VERSION && !warnedAboutVersion) {
      warnedAboutVersion = true;
      ctx.err(`warning: tsctl ${CTL_VERSION} talks to tsd-daemon ${result.version}`);
    }
    if (ctx.json) return printJson(ctx, result);
    const lines = [
      `tsd ${result.version}, pid ${result.pid}, up ${formatUptime(result.uptimeSeconds)}${result.paused ? ", PAUSED (new connections refused)" : ""}`,
      "listeners:",
      ...result.listeners.map(
        (l) => `  ${l.service.padEnd(8)} ${l.host}:${l.port}  ${l.listening ? "listening" : "not listening"}`,
      ),
      `workers: ${result.workers.length}`,
      ...result.workers.map(
        (w) => `  worker ${w.id}  pid ${w.pid}  threads ${w.threads}  sessions ${w.sessions}`,
      ),
      `sessions: chat ${result.sessions.chat}, echo ${result.sessions.echo}${result.sessions.tls === undefined ? "" : `, tls ${result.sessions.tls}`}; users online ${result.usersOnline}`,
    ];
    // In a cluster (docs/cluster.md): its name, Redis, and every live daemon.
    const cluster = result.cluster;
    if (cluster)
      lines.push(
        // One state: not answering, or answering with a fault (its line follows: refusing writes...), or answering.
        `cluster ${cluster.name}: redis ${cluster.redis.url} ${redisState(cluster.redis)}; ${cluster.nodes.length} daemons`,
        ...(cluster.redis.fault ? [`  fault: ${cluster.redis.fault}`] : []),
        ...cluster.nodes.map(
          (n) =>
            `  node ${n.id}  host ${n.host}  pid ${n.pid}  users ${n.users}  last heartbeat ${n.lastSeenSeconds} s ago`,
        ),
      );
    ctx.out(lines.join("\n"));
  },
};

function redisState(redis: { connected: boolean; fault?: string }): string {
  if (!redis.connected) return "NOT answering";
  return redis.fault ? "FAULT" : "answering";
}
