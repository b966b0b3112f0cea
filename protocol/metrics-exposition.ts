/**
 * The `metrics` answer in Prometheus's text exposition format (version 0.0.4), for GET /metrics.
 * Written by hand rather than with prom-client: the values are collected on demand from the
 * session threads, so a registry would only be a detour, and a dozen lines need no dependency.
 */
import type { MetricsResult } from "./rpc.ts";

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string | number>;

interface Family {
  name: string;
  type: "counter" | "gauge";
  help: string;
  samples: { labels?: Labels; value: number }[];
}

/** A label value with \, " and line feeds escaped, as the format asks. */
function labelValue(value: string | number): string {
  return String(value).replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function sampleLine(name: string, labels: Labels | undefined, value: number): string {
  const pairs = labels ? Object.entries(labels).map(([k, v]) => `${k}="${labelValue(v)}"`) : [];
  return `${name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${Number.isFinite(value) ? value : 0}`;
}

/** The counters of `metrics`, by their Prometheus name (without tsd_ and _total) and help text. */
const COUNTERS: [keyof MetricsResult, string, string][] = [
  ["messagesIn", "messages_in", "Chat lines (chat, /me, /msg) received from signed-in users."],
  ["messagesOut", "messages_out", "Lines delivered to signed-in users by the fan-out, one per recipient."],
  ["bytesIn", "bytes_in", "Bytes read from chat connections."],
  ["bytesOut", "bytes_out", "Bytes written to chat connections."],
  ["signIns", "sign_ins", "Sessions signed in (a registration signs in too)."],
  ["signInFailures", "sign_in_failures", "Wrong passwords at sign-in."],
  ["registrations", "registrations", "Accounts registered."],
  ["kicks", "kicks", "Users kicked by the operator."],
  ["floodDrops", "flood_drops", "Chat lines dropped by flood control."],
  ["outputLimitDisconnects", "output_limit_disconnects", "Clients disconnected at the output limit."],
];

const SECONDS_PER_MS = 1 / 1000;

/** Every family of the exposition, in a fixed order. */
function families(m: MetricsResult): Family[] {
  const threads = m.threads ?? [];
  const perWorker = new Map<number, number>();
  for (const t of threads) perWorker.set(t.worker, (perWorker.get(t.worker) ?? 0) + t.sessions);
  const lag = (help: string, pick: (t: (typeof threads)[number]) => number, suffix: string): Family => ({
    name: `tsd_event_loop_lag_${suffix}_seconds`,
    type: "gauge",
    help,
    samples: threads.map((t) => ({
      labels: { worker: t.worker, thread: t.thread },
      value: pick(t) * SECONDS_PER_MS,
    })),
  });
  return [
    ...COUNTERS.map(
      ([key, name, help]): Family => ({
        name: `tsd_${name}_total`,
        type: "counter",
        help,
        samples: [{ value: m[key] as number }],
      }),
    ),
    {
      name: "tsd_connections",
      type: "gauge",
      help: "Open connections by service.",
      samples: (["chat", "echo", "tls"] as const).map((service) => ({
        labels: { service },
        value: m.connections[service],
      })),
    },
    {
      name: "tsd_users_online",
      type: "gauge",
      help: "Signed-in users.",
      samples: [{ value: m.usersOnline }],
    },
    {
      name: "tsd_worker_sessions",
      type: "gauge",
      help: "Open sessions of each worker process.",
      samples: [...perWorker].map(([worker, value]) => ({ labels: { worker }, value })),
    },
    {
      name: "tsd_thread_sessions",
      type: "gauge",
      help: "Open sessions of each session thread.",
      samples: threads.map((t) => ({ labels: { worker: t.worker, thread: t.thread }, value: t.sessions })),
    },
    lag("Median event-loop lag of each session thread over the last second.", (t) => t.lagP50Ms, "p50"),
    lag(
      "99th percentile event-loop lag of each session thread over the last second.",
      (t) => t.lagP99Ms,
      "p99",
    ),
    lag("Largest event-loop lag of each session thread over the last second.", (t) => t.lagMaxMs, "max"),
  ];
}

/** The exposition text of one `metrics` answer: HELP and TYPE, then `name{labels} value` lines. */
export function exposition(m: MetricsResult): string {
  const lines: string[] = [];
  for (const family of families(m)) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) lines.push(sampleLine(family.name, sample.labels, sample.value));
  }
  return `${lines.join("\n")}\n`;
}
