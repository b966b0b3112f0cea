/** Helpers shared by the hostile-client tests: measured bounds, memory of the daemon, floods with backpressure. */

import net from "node:net";
import type { ExecutionContext } from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { alive, type RunningDaemon, rssBytes } from "../helpers/daemon.ts";
import { callRpc } from "../helpers/rpc.ts";

export const MiB = 1024 * 1024;

/** bound logs a measured value in the form a later script turns into a table: `BOUND <area>: <what> = <value>`. */
export function bound(t: ExecutionContext, area: string, what: string, value: number | string): void {
  const v = typeof value === "number" ? Number(value.toFixed(value >= 100 ? 0 : 2)) : value;
  t.log(`BOUND ${area}: ${what} = ${v}`);
}

/** percentile of a list of numbers (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** The daemon's processes: the primary and every worker, from status. */
export async function daemonPids(daemon: RunningDaemon): Promise<number[]> {
  const answer = await callRpc(daemon.socket, "status");
  if (!answer.result) throw new Error(`status failed: ${JSON.stringify(answer.error)}`);
  const status = answer.result as { pid: number; workers: { pid: number }[] };
  return [status.pid, ...status.workers.map((w) => w.pid)];
}

/** Sum of the resident set sizes of pids (processes that are gone count 0). */
export function totalRss(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      if (alive(pid)) sum += rssBytes(pid);
    } catch {
      // gone between the check and the read
    }
  }
  return sum;
}

/** Samples totalRss(pids) every intervalMs until stopped; max is the highest seen. */
export function rssSampler(
  pids: readonly number[],
  intervalMs = 100,
): { stop(): number; readonly max: number } {
  let max = totalRss(pids);
  const timer = setInterval(() => {
    max = Math.max(max, totalRss(pids));
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      max = Math.max(max, totalRss(pids));
      return max;
    },
    get max() {
      return max;
    },
  };
}

/** connectFrom opens a ChatClient from a chosen local loopback address (127.0.0.x). */
export function connectFrom(port: number, localAddress: string): Promise<ChatClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    socket.once("connect", () => {
      // ChatClient's constructor is private to TypeScript only; it wraps any connected socket.
      const Ctor = ChatClient as unknown as new (s: net.Socket) => ChatClient;
      resolve(new Ctor(socket));
    });
    socket.once("error", reject);
  });
}

export interface FloodResult {
  /** bytes handed to the socket (accepted by write) */
  sent: number;
  /** how the flood ended */
  stop: "limit" | "time" | "closed" | "aborted" | "stalled";
  ms: number;
  /** how many times write() asked us to wait for drain, and the longest wait */
  drains: number;
  longestDrainMs: number;
}

/**
 * flood writes chunks produced by next() to socket until total bytes, deadlineMs, the
 * connection ending, or abort() saying so; it honours backpressure (waits for drain), and a
 * drain that never comes is bounded by the deadline too, or by stallMs when given (the peer
 * has stopped reading: stop "stalled").
 */
export async function flood(
  socket: net.Socket,
  opts: { total: number; deadlineMs: number; chunk: Buffer; abort?: () => boolean; stallMs?: number },
): Promise<FloodResult> {
  const started = Date.now();
  const deadline = started + opts.deadlineMs;
  let ended = socket.destroyed;
  const onEnd = () => {
    ended = true;
  };
  socket.once("close", onEnd);
  socket.once("end", onEnd);
  socket.once("error", onEnd);
  let sent = 0;
  let drains = 0;
  let longestDrainMs = 0;
  let stop: FloodResult["stop"] = "limit";
  try {
    while (sent < opts.total) {
      if (ended || socket.destroyed || !socket.writable) {
        stop = "closed";
        break;
      }
      if (Date.now() > deadline) {
        stop = "time";
        break;
      }
      if (opts.abort?.()) {
        stop = "aborted";
        break;
      }
      const n = Math.min(opts.chunk.length, opts.total - sent);
      const ok = socket.write(n === opts.chunk.length ? opts.chunk : opts.chunk.subarray(0, n));
      sent += n;
      if (!ok) {
        drains++;
        const waitStart = Date.now();
        let stalled = false;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearInterval(poll);
            socket.off("drain", done);
            socket.off("close", done);
            resolve();
          };
          // Poll too, so a deadline or an abort is noticed while the peer does not read.
          const poll = setInterval(() => {
            if (opts.stallMs !== undefined && Date.now() - waitStart > opts.stallMs) stalled = true;
            if (stalled || Date.now() > deadline || opts.abort?.() || ended) done();
          }, 50);
          socket.once("drain", done);
          socket.once("close", done);
        });
        longestDrainMs = Math.max(longestDrainMs, Date.now() - waitStart);
        if (stalled) {
          stop = "stalled";
          break;
        }
      }
    }
  } finally {
    socket.off("close", onEnd);
    socket.off("end", onEnd);
    socket.off("error", onEnd);
  }
  return { sent, stop, ms: Date.now() - started, drains, longestDrainMs };
}

/** A chunk of size bytes of the repeated pattern. */
export function patternChunk(pattern: string, size: number): Buffer {
  return Buffer.alloc(size, pattern);
}
