import { randomBytes } from "node:crypto";
import type { ClusterEvent } from "./cluster-events.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import { type ClusterLog, STREAM_MAXLEN } from "./cluster-limits.ts";
import { OUTCOME, PUBLISH_LINE } from "./cluster-scripts.ts";
import { mayHaveRun } from "./redis-faults.ts";
import type { RedisLink, RedisReply, Script } from "./redis-link.ts";

export { mayHaveRun } from "./redis-faults.ts";

/**
 * What became of a chat line: on the stream (delivered to everyone, once), refused (never on the
 * stream, and never will be), or unknown (the connection was lost as it was sent and Redis has
 * not answered since, within OUTCOME_WAIT_MS).
 */
export type LineOutcome = "sent" | "refused" | "unknown";

/** How long a line cut off in flight waits for Redis to say whether it got it, before its author is told "may not". */
export const OUTCOME_WAIT_MS = 10_000;
/**
 * A line must reach Redis within this long (on Redis's clock) or be refused there: past the 3 s
 * after which a silent connection is dropped, with room to spare; so a stall delivers no line later.
 */
export const LINE_DEADLINE_MS = 5000;
/** How often the outcome is asked for while Redis is away. */
const OUTCOME_POLL_MS = 100;
/**
 * A line sent while an outcome is still to be asked waits this long for it (the question goes
 * first on the new connection, see line()); past it the line is refused unsent.
 */
const OUTCOME_FIRST_MS = 2000;

/** The command a daemon publishes a chat line with (the bench sends exactly this). */
export function publishLineCommand(
  keys: ClusterKeys,
  node: string,
  boot: string,
  n: number,
  event: ClusterEvent,
  deadline = 0,
): { script: Script; keys: string[]; args: (string | number)[] } {
  const args = [JSON.stringify(event), STREAM_MAXLEN, boot, n];
  return {
    script: PUBLISH_LINE,
    keys: [keys.events, keys.published(node)],
    args: deadline > 0 ? [...args, deadline] : args,
  };
}

interface Unsettled {
  settle: (outcome: LineOutcome) => void;
  timer: NodeJS.Timeout;
}

/**
 * ChatPublisher puts events on the cluster's stream, each sent once and never resent (a command
 * whose connection drops may have run: resending could deliver it twice).
 *
 * A chat line's outcome is always found out before its author is told: each line of this process
 * is numbered (n) and published by one script (PUBLISH_LINE) that XADDs it and keeps n as this
 * node's highest published, in one step. When the connection is lost after a line went out, the
 * line is "in flight": once Redis answers again, OUTCOME reads the highest n published (a
 * connection runs its commands in order, so a line in flight reached the stream if and only if its
 * n is at or below it) and raises a fence that refuses any of them arriving later. Until then its
 * author is told nothing; after OUTCOME_WAIT_MS without an answer, that it may not have been sent.
 */
export class ChatPublisher {
  private readonly redis: RedisLink;
  private readonly keys: ClusterKeys;
  private readonly node: string;
  private readonly log: ClusterLog | undefined;
  /** This process's lines are numbered under it (a restarted daemon under the same node id starts afresh). */
  private readonly boot = randomBytes(6).toString("hex");
  private sent = 0;
  /** Lines in flight whose outcome is still to be asked, by number. */
  private readonly unsettled = new Map<number, Unsettled>();
  /** The highest number in flight so far, and the highest the fence has been raised to. */
  private fenceWanted = 0;
  private fenced = 0;
  private asking: Promise<void> | null = null;
  private stopped = false;
  /** Redis's clock now as this daemon last saw it (ms), or 0 when unknown: a line's deadline is set on it. */
  private readonly redisClock: () => number;

  constructor(
    redis: RedisLink,
    keys: ClusterKeys,
    node = "node",
    log?: ClusterLog,
    redisClock: () => number = () => 0,
  ) {
    this.redis = redis;
    this.keys = keys;
    this.node = node;
    this.log = log;
    this.redisClock = redisClock;
  }

  /** An event other than a user's line (a drop, an announcement): one XADD. */
  publish(event: ClusterEvent): Promise<RedisReply> {
    return this.redis.call([
      "XADD",
      this.keys.events,
      "MAXLEN",
      "~",
      STREAM_MAXLEN,
      "*",
      "e",
      JSON.stringify(event),
    ]);
  }

  /** A chat line, /me or private message: resolves with its outcome, found out before anyone is told. */
  async line(event: ClusterEvent): Promise<LineOutcome> {
    const n = ++this.sent;
    if (this.asking && this.redis.connected) {
      // The question about the lines in flight goes first on the new connection: a line published
      // before it would raise the highest published past lines that never arrived.
      const asked = await Promise.race([this.asking.then(() => true), delay(OUTCOME_FIRST_MS, false)]);
      if (!asked) return "refused";
    }
    // A line that reaches Redis later than its author can be left waiting (a stall, a silent link)
    // is refused there: it is never delivered after its author was told it may not have been sent.
    const clock = this.redisClock();
    const command = publishLineCommand(
      this.keys,
      this.node,
      this.boot,
      n,
      event,
      clock > 0 ? clock + LINE_DEADLINE_MS : 0,
    );
    try {
      const id = await this.redis.eval(command.script, command.keys, command.args);
      return id === null ? "refused" : "sent";
    } catch (error) {
      if (this.stopped || !mayHaveRun(error)) return "refused";
      return this.outcomeOf(n);
    }
  }

  /** No more questions (the daemon leaves); lines still unsettled are told "may not". */
  stop(): void {
    this.stopped = true;
    for (const [n, line] of this.unsettled) {
      clearTimeout(line.timer);
      line.settle("unknown");
      this.unsettled.delete(n);
    }
  }

  private outcomeOf(n: number): Promise<LineOutcome> {
    const { promise, resolve } = Promise.withResolvers<LineOutcome>();
    const timer = setTimeout(() => {
      this.unsettled.delete(n);
      resolve("unknown");
    }, OUTCOME_WAIT_MS);
    timer.unref();
    this.unsettled.set(n, { settle: resolve, timer });
    this.fenceWanted = Math.max(this.fenceWanted, n);
    this.askWhileNeeded();
    return promise;
  }

  /** Whether a question is still owed: lines unsettled, or a fence wanted and not yet raised. */
  private get questionOwed(): boolean {
    return !this.stopped && (this.unsettled.size > 0 || this.fenced < this.fenceWanted);
  }

  /**
   * Starts the question unless one is under way; asks again as it ends if a line was cut in the gap
   * between its loop's last check and its end (that line saw it still under way).
   */
  private askWhileNeeded(): void {
    this.asking ??= this.ask().finally(() => {
      this.asking = null;
      if (this.questionOwed) this.askWhileNeeded();
    });
  }

  /** Asks Redis, as soon as it answers, what became of the lines in flight; settles them. */
  private async ask(): Promise<void> {
    const cutAt = Date.now();
    let connectedAt = 0;
    while (this.questionOwed) {
      if (!this.redis.connected) {
        connectedAt = 0;
        await delay(OUTCOME_POLL_MS, null);
        continue;
      }
      connectedAt ||= Date.now();
      const fence = this.fenceWanted;
      let landed: number;
      let late: Set<number>;
      try {
        const reply = (await this.redis.eval(
          OUTCOME,
          [this.keys.published(this.node)],
          [this.boot, fence],
        )) as [number, string[]];
        landed = Number(reply[0]);
        late = new Set(reply[1].map(Number));
      } catch {
        await delay(OUTCOME_POLL_MS, null);
        continue;
      }
      this.fenced = Math.max(this.fenced, fence);
      let sent = 0;
      let refused = 0;
      for (const [n, line] of this.unsettled) {
        if (n > fence) continue;
        clearTimeout(line.timer);
        this.unsettled.delete(n);
        const outcome = n <= landed && !late.has(n) ? "sent" : "refused";
        if (outcome === "sent") sent++;
        else refused++;
        line.settle(outcome);
      }
      this.log?.("info", "chat lines cut off in flight by a lost Redis connection: outcome found", {
        sent,
        refused,
        afterMs: Date.now() - cutAt,
        askMs: Date.now() - connectedAt,
      });
    }
  }
}

function delay<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}
