import type { HubToThread, ThreadCounters, ThreadMetrics } from "../../protocol/hub-messages.ts";
import type { MetricsResult } from "../../protocol/rpc.ts";
import { METRICS_ANSWER_TIMEOUT_MS } from "../shared/limits.ts";

/** The counters kept in the primary itself (the threads keep the rest). */
export const primaryCounters = { kicks: 0 };

/** A session thread as the metrics see it (a ThreadLink). */
export interface MeteredThread {
  readonly worker: number;
  readonly thread: number;
  readonly sessions: { chat: number; echo: number; tls?: number };
  send(message: HubToThread): void;
}

/** Where the gauges are read, at the moment of the answer. */
export interface MetricsSources {
  threads: ReadonlySet<MeteredThread>;
  usersOnline(): number;
}

interface Waiter {
  seq: number;
  missing: Set<MeteredThread>;
  done(): void;
}

function noCounts(): ThreadCounters {
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
  };
}

function addCounts(into: ThreadCounters, from: ThreadCounters): void {
  for (const key of Object.keys(into) as (keyof ThreadCounters)[]) into[key] += from[key] ?? 0;
}

/**
 * MetricsCollector keeps each session thread's latest report and answers `metrics`: it asks
 * every thread for its totals and waits for them (at most METRICS_ANSWER_TIMEOUT_MS; a thread
 * that does not answer in time counts with its last report), so whatever was done before the
 * request is counted. A thread that is gone leaves its last totals behind, so the counters never
 * go down; a thread that dies loses at most one interval's counts.
 */
export class MetricsCollector {
  private readonly reports = new Map<MeteredThread, ThreadMetrics>();
  private readonly retired = noCounts();
  private readonly waiters = new Set<Waiter>();
  private seq = 0;

  /** A thread's report, sent each interval or in answer to a request. */
  report(thread: MeteredThread, report: ThreadMetrics): void {
    this.reports.set(thread, report);
    if (report.seq === undefined) return;
    for (const waiter of this.waiters) {
      if (report.seq >= waiter.seq && waiter.missing.delete(thread) && waiter.missing.size === 0)
        waiter.done();
    }
  }

  /** The counters and gauges now, every thread's fresh totals included. */
  async collect(sources: MetricsSources, timeoutMs = METRICS_ANSWER_TIMEOUT_MS): Promise<MetricsResult> {
    if (sources.threads.size > 0) await this.askThreads(sources.threads, timeoutMs);
    return this.compose(sources);
  }

  private askThreads(threads: ReadonlySet<MeteredThread>, timeoutMs: number): Promise<void> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        seq,
        missing: new Set(threads),
        done: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, timeoutMs);
      this.waiters.add(waiter);
      const request: HubToThread = { k: "metrics", seq };
      for (const thread of threads) thread.send(request);
    });
  }

  private compose(sources: MetricsSources): MetricsResult {
    // The last totals of threads that are gone stay in the counters.
    for (const [thread, report] of this.reports) {
      if (sources.threads.has(thread)) continue;
      addCounts(this.retired, report.counters);
      this.reports.delete(thread);
    }
    const counts = { ...this.retired };
    const connections = { chat: 0, echo: 0, tls: 0 };
    const threads: NonNullable<MetricsResult["threads"]> = [];
    for (const thread of sources.threads) {
      const report = this.reports.get(thread);
      if (report) addCounts(counts, report.counters);
      const { chat, echo, tls = 0 } = thread.sessions;
      connections.chat += chat;
      connections.echo += echo;
      connections.tls += tls;
      threads.push({
        worker: thread.worker,
        thread: thread.thread,
        sessions: chat + echo + tls,
        lagP50Ms: report?.lag.p50Ms ?? 0,
        lagP99Ms: report?.lag.p99Ms ?? 0,
        lagMaxMs: report?.lag.maxMs ?? 0,
      });
    }
    threads.sort((a, b) => a.worker - b.worker || a.thread - b.thread);
    return {
      connections,
      usersOnline: sources.usersOnline(),
      messagesIn: counts.messagesIn,
      messagesOut: counts.messagesOut,
      bytesIn: counts.bytesIn,
      bytesOut: counts.bytesOut,
      signIns: counts.signIns,
      signInFailures: counts.signInFailures,
      registrations: counts.registrations,
      kicks: primaryCounters.kicks,
      floodDrops: counts.floodDrops,
      outputLimitDisconnects: counts.outputLimitDisconnects,
      threads,
    };
  }
}
