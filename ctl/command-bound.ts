import { formatDuration } from "./duration.ts";
import { CommandTimedOut } from "./errors.ts";

/**
 * CommandBound is --timeout for a whole command: `expired` rejects when it runs out. The time a
 * person takes to answer a question does not count (pause/resume); a command that hands itself
 * to the user (a follow, until Ctrl-C) ends it (cancel); stop adds its grace (extend).
 */
export class CommandBound {
  readonly expired: Promise<never>;
  private readonly onExpire: () => void;
  private fail: (error: Error) => void = () => {};
  private timer: NodeJS.Timeout | null = null;
  private remainingMs: number;
  private startedAt = 0;
  private readonly totalMs: number;
  private readonly where: () => string;

  constructor(timeoutMs: number, where: () => string, onExpire: () => void) {
    this.totalMs = timeoutMs;
    this.remainingMs = timeoutMs;
    this.where = where;
    this.onExpire = onExpire;
    this.expired = new Promise<never>((_, reject) => {
      this.fail = reject;
    });
    this.expired.catch(() => {});
    this.resume();
  }

  pause(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.remainingMs -= Date.now() - this.startedAt;
  }

  resume(): void {
    if (this.timer || this.remainingMs === Number.POSITIVE_INFINITY) return;
    this.startedAt = Date.now();
    this.timer = setTimeout(() => this.expire(), Math.max(0, this.remainingMs));
  }

  extend(ms: number): void {
    this.pause();
    this.remainingMs += ms;
    this.resume();
  }

  cancel(): void {
    this.pause();
    this.remainingMs = Number.POSITIVE_INFINITY;
  }

  private expire(): void {
    this.timer = null;
    this.onExpire();
    this.fail(
      new CommandTimedOut(
        `timed out after ${formatDuration(this.totalMs)} (--timeout) waiting for the daemon at ${this.where()}`,
      ),
    );
  }
}
