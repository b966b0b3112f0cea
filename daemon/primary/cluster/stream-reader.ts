import { type ClusterEvent, parseEvent } from "./cluster-events.ts";
import type { ClusterKeys } from "./cluster-keys.ts";
import { type ClusterLog, READER_STUCK_MS, STREAM_GAP_NOTICE_MS, STREAM_MAXLEN } from "./cluster-limits.ts";
import { type BlockingConnection, type RedisLink, type RedisReply, SILENT_LINK_MS } from "./redis-link.ts";
import { holdAgainstStream, parseStreamInfo, type StreamInfo } from "./stream-gap.ts";

/** A read blocks at most this long on Redis (XREAD BLOCK). */
const READ_BLOCK_MS = 1000;
/** A gap check the stream did not answer is asked again this many times, this far apart, before the batch is taken as whole. */
const GAP_CHECK_RETRIES = 10;
const GAP_CHECK_RETRY_MS = 300;
/** A read returns at most this many entries: a full batch means the reader is behind. */
const READ_COUNT = 1000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * StreamReader reads the cluster's one stream in order from its cursor, for ever, on a blocking
 * connection of its own, and hands each event to apply. A failed read is tried again from the same
 * cursor, so a reconnecting daemon misses nothing; a read unanswered SILENT_LINK_MS past its
 * block (a silent link) drops its connection, and one that has not returned for READER_STUCK_MS
 * while Redis answers the heartbeat gets a new connection (checkStuck).
 *
 * The stream is trimmed (MAXLEN ~): a reader further behind than that finds the entries past its
 * cursor gone, and XREAD just returns what is left. So a full batch (the reader is behind) and the
 * first read on a new connection are held against XINFO STREAM (O(1)); entries this reader never
 * read that the trim took are logged and told to the daemon's users (fellBehind), at most once
 * every STREAM_GAP_NOTICE_MS, and it reads on from what is there. A reader that keeps up sends
 * nothing more than its reads.
 */
/** XINFO STREAM answered without what the reader needs (a Redis before 7). */
export class StreamInfoUnreadable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StreamInfoUnreadable";
  }
}

export class StreamReader {
  private readonly redis: RedisLink;
  private readonly keys: ClusterKeys;
  private readonly log: ClusterLog;
  private readonly node: string;
  private readonly apply: (event: ClusterEvent) => void;
  private readonly fellBehind: () => void;
  private readonly missedEvents: () => void;
  /** The last stream entry read, and its place in the stream (the position-th entry ever added). */
  private cursor = "0-0";
  private position = 0;
  /** The next batch is held against the stream (the first read on a new connection). */
  private checkNext = true;
  /** Entries lost to the trim not told yet, when they were last told, and the timer that will. */
  private untoldLost = 0;
  private lastToldAt = Number.NEGATIVE_INFINITY;
  private tellTimer: NodeJS.Timeout | null = null;
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
    fellBehind: () => void;
    /** Called at each gap found (not limited as fellBehind is): the lost events may have been drops. */
    missedEvents: () => void;
  }) {
    this.redis = opts.redis;
    this.keys = opts.keys;
    this.log = opts.log;
    this.node = opts.node;
    this.apply = opts.apply;
    this.fellBehind = opts.fellBehind;
    this.missedEvents = opts.missedEvents;
  }

  /** The stream's newest entries, oldest first, to each (the history at start); the cursor at the newest. */
  async loadHistory(each: (event: ClusterEvent) => void): Promise<void> {
    // The last id and its place in one answer: the history is read up to it.
    const info = await this.streamInfo();
    if (!info) return;
    this.cursor = info.lastId;
    this.position = info.entriesAdded;
    const entries = (await this.redis.call([
      "XREVRANGE",
      this.keys.events,
      info.lastId,
      "-",
      "COUNT",
      STREAM_MAXLEN,
    ])) as [string, unknown][];
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
    if (this.tellTimer) clearTimeout(this.tellTimer);
    this.tellTimer = null;
  }

  /** XINFO STREAM's answer (on reader: the connection that just read, else the commands one); null while there is no stream yet. */
  private async streamInfo(reader: BlockingConnection | null = null): Promise<StreamInfo | null> {
    const args = ["XINFO", "STREAM", this.keys.events];
    let reply: RedisReply;
    try {
      reply = await (reader ? reader.read(args) : this.redis.call(args));
    } catch (error) {
      if (/no such key/i.test((error as Error).message)) return null;
      throw error;
    }
    const info = parseStreamInfo(reply);
    if (!info)
      throw new StreamInfoUnreadable("XINFO STREAM gave no entries-added (the cluster needs Redis 7)");
    return info;
  }

  /**
   * Holds a batch read from the cursor against the stream (see the class), and moves the position
   * past it. The stream is asked on the connection that has just read the batch: after a pause
   * (the very case of a gap) the commands connection may be one being dropped as silent and
   * opened again, and a gap unasked for would go untold. Failing that, the commands connection is
   * asked a few times over a few seconds before the batch is taken as whole.
   */
  private async checkGap(batch: readonly string[], reader: BlockingConnection | null): Promise<void> {
    this.checkNext = false;
    let info: StreamInfo | null = null;
    let failure: unknown = null;
    for (let attempt = 0; attempt <= GAP_CHECK_RETRIES && !this.stopped; attempt++) {
      try {
        info = await this.streamInfo(attempt === 0 ? reader : null);
        failure = null;
        break;
      } catch (error) {
        failure = error;
        if (attempt > 0) await sleep(GAP_CHECK_RETRY_MS);
      }
    }
    if (failure)
      this.log("warn", "cannot tell whether the cluster's stream reader missed entries", {
        node: this.node,
        error: (failure as Error).message,
      });
    if (!info) {
      this.position += batch.length;
      return;
    }
    const { lost, position } = holdAgainstStream(this.cursor, this.position, batch, info);
    this.position = position;
    if (lost > 0) {
      this.lostToTrim(lost);
      this.missedEvents();
    }
  }

  /** Entries the trim took before this reader read them: told now, or when the last telling is STREAM_GAP_NOTICE_MS old. */
  private lostToTrim(lost: number): void {
    this.untoldLost += lost;
    if (this.tellTimer) return;
    const wait = this.lastToldAt + STREAM_GAP_NOTICE_MS - Date.now();
    if (wait <= 0) {
      this.tellLost();
      return;
    }
    this.tellTimer = setTimeout(() => {
      this.tellTimer = null;
      this.tellLost();
    }, wait);
    this.tellTimer.unref();
  }

  private tellLost(): void {
    this.log("error", "the cluster's stream reader fell behind the stream's trim; events were missed", {
      node: this.node,
      missed: this.untoldLost,
      streamMaxLen: STREAM_MAXLEN,
    });
    this.untoldLost = 0;
    this.lastToldAt = Date.now();
    this.fellBehind();
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
        String(READ_COUNT),
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
        if (!this.reader) {
          this.reader = await this.redis.blockingConnection(SILENT_LINK_MS);
          this.checkNext = true;
        }
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
        this.checkNext = true;
        await sleep(200);
        continue;
      }
      if (!Array.isArray(reply)) continue;
      for (const stream of reply as [string, [string, unknown][]][]) {
        const entries = stream[1];
        if (this.checkNext || entries.length >= READ_COUNT)
          await this.checkGap(
            entries.map(([id]) => id),
            this.reader,
          );
        else this.position += entries.length;
        for (const [id, fields] of entries) {
          this.cursor = id;
          const event = parseEvent(fields);
          if (event) this.apply(event);
        }
      }
    }
  }
}
