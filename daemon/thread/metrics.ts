import type net from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { EventLoopLag, ThreadCounters, ThreadMetrics } from "../../protocol/hub-messages.ts";
import { METRICS_INTERVAL_MS } from "../shared/limits.ts";

/**
 * The thread's counters since it started. Code on the hot path counts with a plain increment
 * (`threadCounters.messagesIn++`); the hub gets the totals each interval and when it asks.
 * A worker thread has its own copy of this module, so these are per thread by construction.
 */
export const threadCounters: ThreadCounters = {
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

/** Chat connections still open: their bytes are read from the sockets when the totals are taken. */
const openChatSockets = new Set<net.Socket>();

/**
 * Counts a chat connection's bytes, in and out, at no cost per read or write: the socket keeps
 * its own totals, which are added up when asked for and folded in when it closes.
 */
export function countChatBytes(socket: net.Socket): void {
  openChatSockets.add(socket);
  socket.once("close", () => {
    openChatSockets.delete(socket);
    threadCounters.bytesIn += socket.bytesRead;
    threadCounters.bytesOut += socket.bytesWritten;
  });
}

/** The number of lines in a buffer of whole CR LF lines (every line the hub sends is one). */
export function linesIn(data: Buffer): number {
  let lines = 0;
  for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) lines++;
  return lines;
}

function totals(): ThreadCounters {
  let bytesIn = threadCounters.bytesIn;
  let bytesOut = threadCounters.bytesOut;
  for (const socket of openChatSockets) {
    bytesIn += socket.bytesRead;
    bytesOut += socket.bytesWritten;
  }
  return { ...threadCounters, bytesIn, bytesOut };
}

/** The lag histogram samples every LAG_RESOLUTION_MS; what it records past that is the lag. */
const LAG_RESOLUTION_MS = 10;

const NS_PER_MS = 1e6;

/**
 * EventLoopLagWindow measures how late the event loop runs a timer (perf_hooks, sampled in C++,
 * so it costs the loop nothing), over windows of one interval: the last finished one is reported.
 */
class EventLoopLagWindow {
  private readonly histogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  last: EventLoopLag = { p50Ms: 0, p99Ms: 0, maxMs: 0 };

  constructor() {
    this.histogram.enable();
  }

  roll(): void {
    const h = this.histogram;
    const lag = (ns: number) => (h.count === 0 ? 0 : Math.max(0, ns / NS_PER_MS - LAG_RESOLUTION_MS));
    this.last = {
      p50Ms: round(lag(h.percentile(50))),
      p99Ms: round(lag(h.percentile(99))),
      maxMs: round(lag(h.max)),
    };
    h.reset();
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Reports the thread's metrics to the hub each interval (so a thread that dies loses at most one
 * interval's counts) and when the hub asks (answer()).
 */
export class MetricsReporter {
  private readonly send: (message: ThreadMetrics) => void;
  private readonly lag = new EventLoopLagWindow();
  private readonly timer: NodeJS.Timeout;

  constructor(send: (message: ThreadMetrics) => void) {
    this.send = send;
    this.timer = setInterval(() => {
      this.lag.roll();
      this.send(this.report());
    }, METRICS_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * Answers the hub's request seq once the lines queued before it are written (the thread flushes
   * its chat batch before it calls this), so the totals count everything the hub sent before it asked.
   */
  answer(seq: number): void {
    setImmediate(() => this.send(this.report(seq)));
  }

  private report(seq?: number): ThreadMetrics {
    const message: ThreadMetrics = { k: "metrics", counters: totals(), lag: this.lag.last };
    if (seq !== undefined) message.seq = seq;
    return message;
  }
}
