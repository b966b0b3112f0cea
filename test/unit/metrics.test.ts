import test from "ava";
import { renderTop, type TopSample } from "../../ctl/commands/top.ts";
import { type MeteredThread, MetricsCollector } from "../../daemon/primary/metrics.ts";
import type { HubToThread, ThreadCounters, ThreadMetrics } from "../../protocol/hub-messages.ts";
import { exposition } from "../../protocol/metrics-exposition.ts";
import type { MetricsResult, StatusResult } from "../../protocol/rpc.ts";

function counts(over: Partial<ThreadCounters> = {}): ThreadCounters {
  return {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    signIns: 0,
    signInFailures: 0,
    registrations: 0,
    floodDrops: 0,
    outputLimitDisconnects: 0,
    ...over,
  };
}

/** A thread that answers each metrics request with its counters, or (mute) never. */
function fakeThread(
  worker: number,
  thread: number,
  collector: () => MetricsCollector,
  state: { counters: ThreadCounters; mute?: boolean },
): MeteredThread {
  const self: MeteredThread = {
    worker,
    thread,
    sessions: { chat: 2, echo: 1 },
    send(message: HubToThread) {
      if (message.k !== "metrics" || state.mute) return;
      const report: ThreadMetrics = {
        k: "metrics",
        seq: message.seq,
        counters: { ...state.counters },
        lag: { p50Ms: 0.1, p99Ms: 2, maxMs: 5 },
      };
      queueMicrotask(() => collector().report(self, report));
    },
  };
  return self;
}

test("metrics collector - fresh totals from every thread, summed; gauges from the links", async (t) => {
  const collector = new MetricsCollector();
  const a = { counters: counts({ messagesIn: 3, messagesOut: 9 }) };
  const b = { counters: counts({ messagesIn: 1, signIns: 2 }) };
  const threads = new Set([fakeThread(1, 2, () => collector, b), fakeThread(1, 1, () => collector, a)]);
  const m = await collector.collect({ threads, usersOnline: () => 4 });
  t.is(m.messagesIn, 4);
  t.is(m.messagesOut, 9);
  t.is(m.signIns, 2);
  t.is(m.usersOnline, 4);
  t.deepEqual(m.connections, { chat: 4, echo: 2, tls: 0 });
  t.deepEqual(
    m.threads!.map((x) => [x.worker, x.thread, x.sessions]),
    [
      [1, 1, 3],
      [1, 2, 3],
    ],
  );
});

test("metrics collector - a silent thread counts with its last report after the bound; a gone one keeps its totals", async (t) => {
  const collector = new MetricsCollector();
  const state = { counters: counts({ messagesIn: 5 }), mute: false };
  const thread = fakeThread(1, 1, () => collector, state);
  const threads = new Set([thread]);
  t.is((await collector.collect({ threads, usersOnline: () => 0 }, 50)).messagesIn, 5);

  state.mute = true;
  state.counters.messagesIn = 7;
  const asked = Date.now();
  t.is((await collector.collect({ threads, usersOnline: () => 0 }, 50)).messagesIn, 5, "its last report");
  t.true(Date.now() - asked < 5000);

  threads.delete(thread);
  const replacement = fakeThread(1, 1, () => collector, { counters: counts({ messagesIn: 1 }) });
  threads.add(replacement);
  t.is(
    (await collector.collect({ threads, usersOnline: () => 0 }, 50)).messagesIn,
    6,
    "the gone thread's 5, and 1",
  );
  t.is((await collector.collect({ threads, usersOnline: () => 0 }, 50)).messagesIn, 6, "counted once");
});

const sample = (over: Partial<MetricsResult> = {}): MetricsResult => ({
  connections: { chat: 1, echo: 0, tls: 0 },
  usersOnline: 1,
  messagesIn: 0,
  messagesOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  signIns: 0,
  signInFailures: 0,
  registrations: 0,
  kicks: 0,
  floodDrops: 0,
  outputLimitDisconnects: 0,
  threads: [{ worker: 1, thread: 1, sessions: 1, lagP50Ms: 0.2, lagP99Ms: 1.5, lagMaxMs: 3 }],
  ...over,
});

test("exposition - counters as _total, a TYPE before every sample, lag in seconds", (t) => {
  const text = exposition(sample({ messagesIn: 12 }));
  const lines = text.trimEnd().split("\n");
  t.true(lines.includes("tsd_messages_in_total 12"));
  t.true(lines.includes('tsd_event_loop_lag_p99_seconds{worker="1",thread="1"} 0.0015'));
  t.true(lines.includes('tsd_worker_sessions{worker="1"} 1'));
  for (const [i, line] of lines.entries()) {
    if (line.startsWith("#")) continue;
    const name = line.split(/[{ ]/)[0]!;
    t.true(
      lines.slice(0, i).includes(`# TYPE ${name} ${name.endsWith("_total") ? "counter" : "gauge"}`),
      line,
    );
  }
});

const status: StatusResult = {
  version: "0.1.0",
  pid: 10,
  startedAt: "2026-12-04T00:00:00.000Z",
  uptimeSeconds: 62,
  paused: false,
  listeners: [],
  workers: [{ id: 1, pid: 11, threads: 1, sessions: 1, threadSessions: [1] }],
  sessions: { chat: 1, echo: 0 },
  usersOnline: 1,
};

test("top view - rates from the last two samples, sign-ins per minute over the last minute, one row per thread", (t) => {
  const at = 1_000_000;
  const samples: TopSample[] = [
    { at, status, metrics: sample({ signIns: 0 }) },
    {
      at: at + 29_000,
      status,
      metrics: sample({ messagesIn: 10, messagesOut: 100, bytesOut: 2048, signIns: 1 }),
    },
    {
      at: at + 30_000,
      status,
      metrics: sample({ messagesIn: 13, messagesOut: 130, bytesOut: 4096, signIns: 1 }),
    },
  ];
  const view = renderTop(samples, 200).join("\n");
  t.regex(view, /messages\/s\s+in 3\.0\s+out 30\.0/);
  t.regex(view, /bytes\/s\s+in 0 B\s+out 2\.0 KiB/);
  t.regex(view, /sign-ins\/min\s+2\.0\s+failures\/min 0\.0\s+\(over 30 s\)/);
  t.regex(view, /^1\s+11\s+1\s+1\s+0\.2 ms\s+1\.5 ms\s+3\.0 ms$/m);
  const single = renderTop(samples.slice(0, 1), 200).join("\n");
  t.regex(single, /messages\s+in 0\s+out 0\s+\(since start\)/, "one sample: the totals");
});
