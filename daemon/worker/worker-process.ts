import cluster from "node:cluster";
import { Worker } from "node:worker_threads";
import type {
  LogLevel,
  LogRecord,
  ProcessToPrimary,
  RestartThread,
  ServiceConfig,
  ThreadData,
} from "../../protocol/hub-messages.ts";
import { WORKER_CONFIG_ENV } from "../../protocol/hub-messages.ts";
import { Backoff } from "../shared/backoff.ts";
import { entryFile } from "../shared/entry-file.ts";
import { YOUNG_GENERATION_MB, THREAD_RESTART } from "../shared/limits.ts";

const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? "null") as ServiceConfig | null;
const workerId = cluster.worker?.id;
if (!config || workerId === undefined) {
  console.error("worker-process.ts is started by tsd-daemon, not by hand");
  process.exit(2);
}

function log(level: LogLevel, msg: string, meta?: Record<string, unknown>): void {
  const record: ProcessToPrimary = { k: "log", level, msg, meta: { ...meta, worker: workerId } };
  process.send?.(record);
}

// A worker whose primary is gone must not run headless: no worker survives the primary.
process.on("disconnect", () => process.exit(0));

let running = 0;
const threads = new Map<number, Worker>();

// The hub found a thread unresponsive: end it; its exit handler starts a fresh one.
process.on("message", (message: RestartThread) => {
  if (message?.k !== "restart-thread") return;
  void threads.get(message.thread)?.terminate();
});

/** Starts the thread of one slot and restarts it with back-off when it dies; exit code 0 means it stopped on purpose. */
function runThread(slot: number, backoff: Backoff): void {
  const startedAt = Date.now();
  const data: ThreadData = { config: config!, worker: workerId!, thread: slot };
  const thread = new Worker(entryFile("../thread/session-thread", import.meta.url), {
    workerData: data,
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  running++;
  threads.set(slot, thread);
  // A thread whose hub link is gone can only tell its process.
  thread.on("message", (record: LogRecord) => {
    if (record?.k === "log") log(record.level, record.msg, record.meta);
  });
  thread.on("error", (error) =>
    log("error", "session thread failed", { thread: slot, error: String(error.stack ?? error) }),
  );
  thread.on("exit", (code) => {
    running--;
    if (threads.get(slot) === thread) threads.delete(slot);
    if (code === 0) {
      if (running === 0) process.exit(0);
      return;
    }
    const delay = backoff.next(Date.now() - startedAt);
    log("error", "session thread died; restarting", { thread: slot, code, restartInMs: delay });
    setTimeout(() => runThread(slot, backoff), delay);
  });
}

for (let slot = 1; slot <= config.threads; slot++)
  runThread(slot, new Backoff(THREAD_RESTART.firstMs, THREAD_RESTART.maxMs, THREAD_RESTART.resetAfterMs));
