import { type ClusterEvent, parseEvent } from "./cluster-events.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import { type ClusterLog, READER_STUCK_MS, STREAM_MAXLEN } from "./cluster-limits.ts";
import { type BlockingConnection, type RedisLink, type RedisReply, SILENT_LINK_MS } from "./redis-link.ts";

/** A read blocks at most this long on Redis (XREAD BLOCK). */
const READ_BLOCK_MS = 1000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * StreamReader reads the cluster's one stream in order from its cursor, for ever, on a blocking
 * connection of its own, and hands each event to apply. A failed read is tried again from the same
 * cursor, so a reconnecting daemon misses nothing; a read unanswered SILENT_LINK_MS past its
 * block (a silent link) drops its connection, and one that has not returned for READER_STUCK_MS
 * while Redis answers the heartbeat gets a new connection (checkStuck).
 */
export class StreamReader {
  private readonly redis: RedisLink;
  private readonly keys: ClusterKeys;
  private readonly log: ClusterLog;
  private readonly node: string;
  private readonly apply: (event: ClusterEvent) => void;
  /** The last stream entry read. */
  private cursor = "0-0";
  private stopped = false;
  /** The reader's connection, and when its last read returned (or it started). */
  private reader: BlockingConnection | null = null;
  private lastRead = Date.now();
  /** The last read was dropped unanswered (its connection silent). */
  private silentRead = false;

  constructor(opts: {
    redis: RedisLink;
    keys: ClusterKeys;
    log: ClusterLog;
    node: string;
    apply: (event: ClusterEvent) => void;
  }) {
    this.redis = opts.redis;
    this.keys = opts.keys;
    this.log = opts.log;
    this.node = opts.node;
    this.apply = opts.apply;
  }

  /** The stream's newest entries, oldest first, to each (the history at start); the cursor at the newest. */
  async loadHistory(each: (event: ClusterEvent) => void): Promise<void> {
    const entries = (await this.redis.call([
      "XREVRANGE",
      this.keys.events,
      "+",
      "-",
      "COUNT",
      STREAM_MAXLEN,
    ])) as [string, unknown][];
    if (entries.length > 0) this.cursor = entries[0]![0];
    for (let i = entries.length - 1; i >= 0; i--) {
      const event = parseEvent(entries[i]![1]);
      if (event) each(event);
    }
  }

  /** Opens the reader's connection and reads on from the cursor until stop(). */
  async start(): Promise<void> {
    this.reader = await this.redis.blockingConnection();
    void this.readLoop();
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Redis answers the heartbeat but the reader has not returned for READER_STUCK_MS: its
   * connection silently stopped (a pitfall of pub/sub-based clusters too). It gets a new one and
   * reads on from its cursor, so nothing is missed.
   */
  checkStuck(): void {
    const silent = Date.now() - this.lastRead;
    if (silent < READER_STUCK_MS || !this.reader) return;
    this.log("warn", "the cluster's stream reader is stuck; reconnecting it", {
      node: this.node,
      silentMs: silent,
    });
    this.reader.close();
    this.reader = null;
    this.lastRead = Date.now();
  }

  /** One read from the cursor; its connection is dropped when Redis has not answered SILENT_LINK_MS past the block. */
  private async readOnce(reader: BlockingConnection): Promise<RedisReply> {
    const timer = setTimeout(() => {
      this.silentRead = true;
      if (this.reader === reader) this.reader = null;
      reader.close();
    }, READ_BLOCK_MS + SILENT_LINK_MS);
    try {
      return await reader.read([
        "XREAD",
        "BLOCK",
        String(READ_BLOCK_MS),
        "COUNT",
        "1000",
        "STREAMS",
        this.keys.events,
        this.cursor,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readLoop(): Promise<void> {
    let failing = false;
    while (!this.stopped) {
      let reply: RedisReply;
      try {
        if (!this.reader) this.reader = await this.redis.blockingConnection(SILENT_LINK_MS);
        reply = await this.readOnce(this.reader);
        this.lastRead = Date.now();
        failing = false;
      } catch (error) {
        if (this.stopped) return;
        if (!failing)
          this.log("warn", "cannot read the cluster's stream; retrying", {
            error: this.silentRead
              ? `the cluster's Redis did not answer the read within ${(READ_BLOCK_MS + SILENT_LINK_MS) / 1000} s`
              : (error as Error).message,
          });
        this.silentRead = false;
        failing = true;
        await sleep(200);
        continue;
      }
      if (!Array.isArray(reply)) continue;
      for (const stream of reply as [string, [string, unknown][]][]) {
        for (const [id, fields] of stream[1]) {
          this.cursor = id;
          const event = parseEvent(fields);
          if (event) this.apply(event);
        }
      }
    }
  }
}
