import cluster, { type Worker } from "node:cluster";
import type { ProcessToPrimary } from "../../protocol/hub-messages.ts";
import { Backoff } from "../shared/backoff.ts";
import { WORKER_MALLOC_ENV, WORKER_RESTART } from "../shared/limits.ts";
import type { Log } from "./log/logger.ts";

interface Slot {
  worker: Worker | null;
  startedAt: number;
  backoff: Backoff;
  timer: NodeJS.Timeout | null;
}

/**
 * WorkerSupervisor keeps `count` worker processes alive: a process that dies is forked again
 * after a growing delay, so a crash loop cannot eat the machine.
 */
export class WorkerSupervisor {
  private readonly slots: Slot[] = [];
  private stopping = false;
  private readonly env: Record<string, string>;
  private readonly log: Log;
  private readonly onRecord: (worker: Worker, record: ProcessToPrimary) => void;

  constructor(
    count: number,
    env: Record<string, string>,
    log: Log,
    onRecord: (worker: Worker, record: ProcessToPrimary) => void,
  ) {
    this.env = env;
    this.log = log;
    this.onRecord = onRecord;
    for (let i = 0; i < count; i++) {
      this.slots.push({
        worker: null,
        startedAt: 0,
        backoff: new Backoff(WORKER_RESTART.firstMs, WORKER_RESTART.maxMs, WORKER_RESTART.resetAfterMs),
        timer: null,
      });
    }
  }

  start(): void {
    for (const slot of this.slots) this.fork(slot);
  }

  /** The live worker processes. */
  get workers(): Worker[] {
    return this.slots.flatMap((slot) => (slot.worker && !slot.worker.isDead() ? [slot.worker] : []));
  }

  /** Resolves once every worker has exited, killing those still alive after timeoutMs. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) if (slot.timer) clearTimeout(slot.timer);
    const alive = this.workers;
    const exits = alive.map((worker) => new Promise((resolve) => worker.once("exit", resolve)));
    const timer = setTimeout(() => {
      for (const worker of this.workers) {
        this.log("warn", "worker did not stop in time; killing it", { worker: worker.id });
        worker.process.kill("SIGKILL");
      }
    }, timeoutMs);
    await Promise.all(exits);
    clearTimeout(timer);
  }

  private fork(slot: Slot): void {
    slot.timer = null;
    // The operator's own malloc settings win over the daemon's.
    const worker = cluster.fork({
      ...WORKER_MALLOC_ENV,
      ...pick(process.env, WORKER_MALLOC_ENV),
      ...this.env,
    });
    slot.worker = worker;
    slot.startedAt = Date.now();
    this.log("info", "worker started", { worker: worker.id, pid: worker.process.pid });
    worker.on("message", (record: ProcessToPrimary) => this.onRecord(worker, record));
    worker.on("exit", (code, signal) => {
      if (this.stopping) {
        this.log("info", "worker stopped", { worker: worker.id, pid: worker.process.pid });
        return;
      }
      const delay = slot.backoff.next(Date.now() - slot.startedAt);
      this.log("error", "worker died; restarting", {
        worker: worker.id,
        pid: worker.process.pid,
        code,
        signal,
        restartInMs: delay,
      });
      slot.timer = setTimeout(() => this.fork(slot), delay);
    });
  }
}

/** The variables of env named like the keys of names, those that are set. */
function pick(env: NodeJS.ProcessEnv, names: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(names)) if (env[name] !== undefined) out[name] = env[name];
  return out;
}
