// The load generator of `npm run bench -- cluster-redis` (scenarios/cluster-redis.ts), run as a
// child process: it plays N daemons of one cluster towards one redis-server, sending exactly the
// Redis commands a daemon sends, with the project's own keys, scripts and constants, but without a
// daemon's work per user (sessions, fan-out), so that Redis and not the daemons is what saturates.
//
// Per simulated daemon: one command connection (the chat lines, each sent by the cluster's own
// ChatPublisher.line, so the script and arguments are what ships; pipelined: what is due each
// millisecond goes in one write, as node-redis pipelines the commands of one event-loop turn; the
// heartbeat BEAT every second; the moderation version check; a sender's PATCH at most every 5 s)
// and one reader connection (XREAD BLOCK 1000 COUNT 1000 from its cursor, the next read sent as
// soon as a reply is in). Replies are parsed by a small RESP reader here, not node-redis, to keep
// the generator lighter than Redis.
//
// Usage: node bench/cluster-redis-gen.ts '<GenConfig as JSON>'; prints one JSON line per step
// ({"step": StepFigures}) and {"done": true} on stdout; progress on stderr.
import net from "node:net";
import { readFileSync } from "node:fs";
import os from "node:os";
import { ChatPublisher } from "../daemon/primary/cluster/chat-publisher.ts";
import type { ClusterEvent } from "../daemon/primary/cluster/cluster-events.ts";
import { ClusterKeys } from "../daemon/primary/cluster/cluster-keys.ts";
import {
  ACTIVITY_WRITE_MS,
  BEAT_INTERVAL_MS,
  LEASE_MS,
  STALL_MS,
  STREAM_MAXLEN,
} from "../daemon/primary/cluster/cluster-limits.ts";
import { BEAT, JOIN, PATCH } from "../daemon/primary/cluster/cluster-scripts.ts";
import type { RedisLink, Script } from "../daemon/primary/cluster/redis-link.ts";
import { MODERATION_POLL_MS } from "../daemon/primary/cluster/redis-moderation.ts";
import { type GenConfig, notRedisLimit, pastBound, type StepFigures } from "./cluster-redis-steps.ts";

/** How long a step waits, after its window, for every line to be answered and read. */
const DRAIN_MS = 10_000;
/** Latency histogram: 0.1 ms buckets up to 30 s, the last one open. */
const BUCKETS = 300_000;
/** The chat line's text carries its due time between these marks. */
const MARK = "~B~";

const now = () => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One command as RESP. */
function command(args: readonly (string | number)[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    const s = String(arg);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

type Value = string | number | null | Value[] | RedisError;
class RedisError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}
const INCOMPLETE = new Error("incomplete reply");

/** An incremental RESP2 reader: push chunks, take whole replies. */
class RespReader {
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;

  push(chunk: Buffer): void {
    this.buf = this.at >= this.buf.length ? chunk : Buffer.concat([this.buf.subarray(this.at), chunk]);
    this.at = 0;
  }

  /** The next whole reply, or undefined until more bytes come. */
  next(): Value | undefined {
    if (this.at >= this.buf.length) return undefined;
    const start = this.at;
    try {
      return this.value();
    } catch (error) {
      if (error !== INCOMPLETE) throw error;
      this.at = start;
      return undefined;
    }
  }

  private line(): string {
    const end = this.buf.indexOf("\r\n", this.at, "latin1");
    if (end === -1) throw INCOMPLETE;
    const text = this.buf.toString("latin1", this.at + 1, end);
    this.at = end + 2;
    return text;
  }

  private value(): Value {
    if (this.at >= this.buf.length) throw INCOMPLETE;
    const type = this.buf[this.at];
    const text = this.line();
    switch (type) {
      case 43: // +
        return text;
      case 45: // -
        return new RedisError(text);
      case 58: // :
        return Number(text);
      case 36: {
        // $
        const n = Number(text);
        if (n < 0) return null;
        if (this.at + n + 2 > this.buf.length) throw INCOMPLETE;
        const s = this.buf.toString("latin1", this.at, this.at + n);
        this.at += n + 2;
        return s;
      }
      case 42: {
        // *
        const n = Number(text);
        if (n < 0) return null;
        const out: Value[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.value();
        return out;
      }
      default:
        throw new Error(`unexpected RESP type ${String.fromCharCode(type ?? 0)}`);
    }
  }
}

/** The decimal number (digits, one dot) at `at`. */
function readDecimal(buf: Buffer, at: number): number {
  let n = 0;
  let scale = 0;
  for (let i = at; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 46) scale = 1;
    else if (c >= 48 && c <= 57) {
      n = n * 10 + c - 48;
      if (scale) scale *= 10;
    } else break;
  }
  return scale ? n / scale : n;
}

/** Where the last header() ended. */
let headerEnd = 0;

/** The number of a RESP header line (`*3`, `$42`) at `at`, or NaN if the line is not whole yet. */
function header(buf: Buffer, at: number): number {
  let n = 0;
  let sign = 1;
  let i = at + 1;
  if (buf[i] === 45) {
    sign = -1;
    i++;
  }
  for (; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 13) {
      headerEnd = i + 2;
      return headerEnd <= buf.length ? sign * n : Number.NaN;
    }
    n = n * 10 + c - 48;
  }
  return Number.NaN;
}

/**
 * Walks an XREAD reply (RESP2) without making a string of it: for each entry, onEntry gets the
 * offsets of its id and of its last field's value. Returns where the reply ends, or -1 while it is
 * not whole. The generator's readers must stay cheaper than Redis's work of sending every entry.
 */
function walkXread(
  buf: Buffer,
  onEntry: (idStart: number, idEnd: number, valueStart: number, valueEnd: number) => void,
): number {
  const bulk = (at: number): number => {
    const n = header(buf, at);
    if (Number.isNaN(n)) return -1;
    const end = headerEnd + n + 2;
    return n < 0 ? headerEnd : end <= buf.length ? end : -1;
  };
  const streams = header(buf, 0);
  if (Number.isNaN(streams)) return -1;
  let at = headerEnd;
  for (let s = 0; s < streams; s++) {
    if (Number.isNaN(header(buf, at))) return -1; // *2: name, entries
    at = bulk(headerEnd);
    if (at === -1) return -1;
    const entries = header(buf, at);
    if (Number.isNaN(entries)) return -1;
    at = headerEnd;
    for (let e = 0; e < entries; e++) {
      if (Number.isNaN(header(buf, at))) return -1; // *2: id, fields
      at = bulk(headerEnd);
      if (at === -1) return -1;
      const idStart = headerEnd;
      const idEnd = at - 2;
      const fields = header(buf, at);
      if (Number.isNaN(fields)) return -1;
      at = headerEnd;
      let valueStart = at;
      for (let f = 0; f < fields; f++) {
        const next = bulk(at);
        if (next === -1) return -1;
        valueStart = headerEnd;
        at = next;
      }
      onEntry(idStart, idEnd, valueStart, at - 2);
    }
  }
  return at;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** A connection answering one request at a time (setup, INFO). */
class Requester {
  private readonly reader = new RespReader();
  private readonly waiting: ((v: Value) => void)[] = [];
  readonly socket: net.Socket;
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.reader.push(chunk);
      for (let v = this.reader.next(); v !== undefined; v = this.reader.next()) this.waiting.shift()?.(v);
    });
  }
  request(args: readonly (string | number)[]): Promise<Value> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(command(args));
    });
  }
  async ok(args: readonly (string | number)[]): Promise<Value> {
    const v = await this.request(args);
    if (v instanceof RedisError) throw new Error(`${args[0]}: ${v.message}`);
    return v;
  }
}

/** The step's shared counters, reset by each step. */
class Step {
  start = 0;
  windowStart = Number.POSITIVE_INFINITY;
  windowEnd = Number.POSITIVE_INFINITY;
  sending = false;
  sent = 0;
  acked = 0;
  sentInWindow = 0;
  ackedInWindow = 0;
  heldBack = 0;
  readsInWindow = 0;
  errors = 0;
  firstError: string | null = null;
  readonly histogram = new Uint32Array(BUCKETS);
  maxMs = 0;
}

/** A Redis error reply, rejected as node-redis rejects it. */
class RedisReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisReplyError";
  }
}

/**
 * The command connection of a simulated daemon, with the two methods of RedisLink the cluster's
 * publishing code calls (call, eval), so ChatPublisher runs unchanged on it: whatever it sends for
 * a chat line is what the bench sends. Commands are answered in order by promises, as node-redis
 * answers them; those of one tick go in one write.
 */
class CommandLink {
  readonly socket: net.Socket;
  private readonly reader = new RespReader();
  private readonly waiting: ({ resolve: (v: unknown) => void; reject: (e: Error) => void } | null)[] = [];
  private head = 0;
  private readonly loaded = new Set<string>();
  private out = "";

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => this.onReplies(chunk));
  }

  /** Always: the bench never loses its connection (ChatPublisher asks only after a lost one). */
  readonly connected = true;

  call(args: readonly (string | number)[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.write(command(args));
    });
  }

  /** Commands of one tick go out in one write, as node-redis pipelines them. */
  private write(text: string): void {
    if (this.out === "") process.nextTick(this.flush);
    this.out += text;
  }

  private readonly flush = (): void => {
    const text = this.out;
    this.out = "";
    // The commands are ASCII (JSON escapes the rest): latin1 copies them without a UTF-8 pass.
    this.socket.write(text, "latin1");
  };

  /** EVALSHA, the script loaded once first (RedisLink.eval falls back to EVAL on NOSCRIPT). */
  eval(script: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    if (!this.loaded.has(script.sha)) {
      this.loaded.add(script.sha);
      this.waiting.push(null);
      this.write(command(["SCRIPT", "LOAD", script.source]));
    }
    return this.call(["EVALSHA", script.sha, keys.length, ...keys, ...args]);
  }

  private onReplies(chunk: Buffer): void {
    this.reader.push(chunk);
    for (let v = this.reader.next(); v !== undefined; v = this.reader.next()) {
      const waiter = this.waiting[this.head++];
      if (this.head > 4096) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      if (!waiter) continue;
      if (v instanceof RedisError) waiter.reject(new RedisReplyError(v.message));
      else waiter.resolve(v);
    }
  }
}

/** One simulated daemon. */
class SimNode {
  readonly id: string;
  private readonly keys: ClusterKeys;
  private readonly link: CommandLink;
  private readonly publisher: ChatPublisher;
  private readonly readerSocket: net.Socket;
  private readChunks: Buffer[] = [];
  /** The due times of the reply being walked. */
  private readonly dues: number[] = [];
  /** From the stream's start: the first reads take the setup's joins, then the lines. */
  private cursor = "0-0";
  private registered = false;
  private readonly senderKeys: string[];
  private readonly lastPatch = new Map<string, number>();
  private nextSender = 0;
  /** This step's lines (due at or after the step's start) read by this node. */
  stepReads = 0;
  step: Step;
  stopped = false;

  constructor(
    id: string,
    keys: ClusterKeys,
    cmd: net.Socket,
    reader: net.Socket,
    senders: string[],
    step: Step,
  ) {
    this.id = id;
    this.keys = keys;
    this.link = new CommandLink(cmd);
    this.publisher = new ChatPublisher(this.link as unknown as RedisLink, keys, id);
    this.readerSocket = reader;
    this.senderKeys = senders;
    this.step = step;
    reader.on("data", (chunk: Buffer) => this.onReadReply(chunk));
  }

  /**
   * Signs its senders in, as a daemon does at each sign-in. (The node id's claim at a daemon's
   * start is left out: once per process, and its arguments are C1's to change; the first BEAT
   * takes the lease.)
   */
  async start(): Promise<void> {
    const k = this.keys;
    for (const key of this.senderKeys) {
      const sid = `${this.id}-${key}`;
      const joined: ClusterEvent = { t: "line", joined: key, node: this.id, sid };
      await this.link.eval(
        JOIN,
        [k.online, k.events],
        [
          k.prefix,
          key,
          JSON.stringify(this.record(key, sid)),
          this.id,
          sid,
          JSON.stringify(joined),
          STREAM_MAXLEN,
        ],
      );
    }
    this.beat();
    this.read();
  }

  private record(key: string, sid: string): Record<string, unknown> {
    const t = Date.now();
    return {
      key,
      sid,
      node: this.id,
      name: key,
      address: "127.0.0.1",
      since: t,
      away: null,
      lastActive: t,
      worker: 1,
      thread: 1,
    };
  }

  private failed = (error: Error): void => {
    this.step.errors++;
    this.step.firstError ??= error.message;
  };

  private acked = (): void => {
    const step = this.step;
    step.acked++;
    const t = now();
    if (t >= step.windowStart && t < step.windowEnd) step.ackedInWindow++;
  };

  beat(): void {
    const k = this.keys;
    this.link
      .eval(
        BEAT,
        [k.nodes, k.tick, k.grace, k.node(this.id), k.online, k.events],
        [
          k.prefix,
          this.id,
          LEASE_MS,
          STALL_MS,
          this.registered ? 1 : 0,
          os.hostname(),
          process.pid,
          1000,
          STREAM_MAXLEN,
        ],
      )
      .catch(this.failed);
    this.registered = true;
  }

  checkModeration(): void {
    this.link.call(["GET", this.keys.moderationVersion]).catch(this.failed);
  }

  /** Chat lines due at the given times (ms, this process's clock), published in one write. */
  lines(dues: number[]): void {
    if (dues.length === 0) return;
    const wall = performance.timeOrigin;
    for (const due of dues) {
      const key = this.senderKeys[this.nextSender++ % this.senderKeys.length]!;
      const sid = `${this.id}-${key}`;
      const event: ClusterEvent = {
        t: "line",
        node: this.id,
        sid,
        from: key,
        h: { time: Math.round(wall + due), name: key, text: `${MARK}${due.toFixed(3)}~ ${"x".repeat(40)}` },
      };
      const step = this.step;
      this.publisher.line(event).then(
        (outcome) => {
          if (this.step !== step) return;
          if (outcome === "sent") this.acked();
          else this.failed(new RedisReplyError(`a line was ${outcome}`));
        },
        (error: Error) => {
          if (this.step === step) this.failed(error);
        },
      );
      // A sender's activity, written at most every ACTIVITY_WRITE_MS per member (ClusterPresence.touch).
      const last = this.lastPatch.get(key) ?? Number.NEGATIVE_INFINITY;
      if (due - last >= ACTIVITY_WRITE_MS) {
        this.lastPatch.set(key, due);
        const record = JSON.stringify(this.record(key, sid));
        this.link.eval(PATCH, [this.keys.online], [key, this.id, sid, record]).catch(this.failed);
      }
    }
  }

  private read(): void {
    if (this.stopped) return;
    this.readerSocket.write(
      command(["XREAD", "BLOCK", "1000", "COUNT", "1000", "STREAMS", this.keys.events, this.cursor]),
    );
  }

  private onReadReply(chunk: Buffer): void {
    this.readChunks.push(chunk);
    // One read in flight: the reply can be whole only when the bytes so far end a line.
    if (chunk.length < 2 || chunk[chunk.length - 2] !== 13 || chunk[chunk.length - 1] !== 10) return;
    const buf = this.readChunks.length === 1 ? chunk : Buffer.concat(this.readChunks);
    const t = now();
    const step = this.step;
    if (buf[0] === 45) {
      // -ERR...
      this.readChunks.length = 0;
      this.failed(new RedisReplyError(buf.toString("latin1", 1, buf.length - 2)));
      this.read();
      return;
    }
    let lastIdStart = -1;
    let lastIdEnd = -1;
    const dues = this.dues;
    dues.length = 0;
    const end = walkXread(buf, (idStart, idEnd, valueStart, valueEnd) => {
      lastIdStart = idStart;
      lastIdEnd = idEnd;
      const at = buf.indexOf(MARK, valueStart, "latin1");
      if (at !== -1 && at < valueEnd) dues.push(readDecimal(buf, at + MARK.length));
    });
    if (end === -1) {
      // Not whole yet: walked again, from its start, when more comes.
      if (this.readChunks.length > 1) this.readChunks = [buf];
      return;
    }
    for (const due of dues) {
      // The mark carries the due time to 3 decimals: the step's first line may print below its start.
      if (due < step.start - 0.001) continue;
      this.stepReads++;
      if (due < step.windowStart || due >= step.windowEnd) continue;
      step.readsInWindow++;
      const ms = t - due;
      if (ms > step.maxMs) step.maxMs = ms;
      step.histogram[Math.min(BUCKETS - 1, Math.max(0, Math.floor(ms * 10)))]!++;
    }
    this.readChunks = [];
    if (lastIdStart !== -1) this.cursor = buf.toString("latin1", lastIdStart, lastIdEnd);
    this.read();
  }

  close(): void {
    this.stopped = true;
    this.link.socket.destroy();
    this.readerSocket.destroy();
  }
}

function percentile(histogram: Uint32Array, total: number, q: number): number {
  if (total === 0) return 0;
  const want = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= want) return (i + 1) / 10;
  }
  return histogram.length / 10;
}

/** Redis's CPU seconds so far: [main thread, whole process]. */
/** Seconds a thread has waited on a run queue (the second field of schedstat); NaN if unknown. */
function runQueueWait(file: string): number {
  try {
    return Number(readFileSync(file, "latin1").split(" ")[1]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

/** Seconds the cgroup's quota held its processes back (cgroup v1 throttled_time, v2 throttled_usec); 0 without one. */
function throttled(stat: string | undefined): number {
  if (!stat) return 0;
  try {
    const text = readFileSync(stat, "latin1");
    const ns = /^throttled_time (\d+)/m.exec(text)?.[1];
    if (ns !== undefined) return Number(ns) / 1e9;
    return Number(/^throttled_usec (\d+)/m.exec(text)?.[1] ?? 0) / 1e6;
  } catch {
    return 0;
  }
}

async function redisCpu(setup: Requester): Promise<[number, number]> {
  const info = String(await setup.ok(["INFO", "cpu"]));
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, "m").exec(info)?.[1] ?? Number.NaN);
  return [
    field("used_cpu_user_main_thread") + field("used_cpu_sys_main_thread"),
    field("used_cpu_user") + field("used_cpu_sys"),
  ];
}

async function runStep(
  config: GenConfig,
  nodes: SimNode[],
  setup: Requester,
  redisPid: number,
  rate: number,
): Promise<StepFigures> {
  const step = new Step();
  for (const node of nodes) {
    node.step = step;
    node.stepReads = 0;
  }
  const perNode = rate / nodes.length;
  const sentBy = nodes.map(() => 0);
  const cap = Math.max(1000, rate);
  step.start = now();
  step.sending = true;
  // Each node's lines are due evenly; each tick sends what has come due since the last one.
  const sender = (async () => {
    while (step.sending) {
      const t = now();
      nodes.forEach((node, i) => {
        const due = Math.floor(((t - step.start) * perNode) / 1000);
        const dues: number[] = [];
        for (let n = sentBy[i]!; n < due; n++) {
          if (step.sent - step.acked >= cap) {
            // Over a second's worth unanswered: Redis is behind; the line is not offered.
            step.heldBack += due - n;
            break;
          }
          const at = step.start + (n * 1000) / perNode;
          dues.push(at);
          step.sent++;
          if (at >= step.windowStart && at < step.windowEnd) step.sentInWindow++;
        }
        sentBy[i] = due;
        node.lines(dues);
      });
      await sleep(1);
    }
  })();
  await sleep(config.warmupS * 1000);
  // The main threads: every command of Redis runs on its main thread, every line here on ours.
  const redisSchedstat = `/proc/${redisPid}/task/${redisPid}/schedstat`;
  const genSchedstat = `/proc/self/task/${process.pid}/schedstat`;
  // Each figure over its own interval: Redis's from one INFO reply to the other (an overloaded
  // Redis answers late), its waits read as each reply comes; the generator's at the window's edges.
  const [main0, all0] = await redisCpu(setup);
  const redis0 = [now(), runQueueWait(redisSchedstat), throttled(config.budgetStat)];
  const genWait0 = runQueueWait(genSchedstat);
  const cpu0 = process.cpuUsage();
  step.windowStart = now();
  await sleep(config.durationS * 1000);
  step.windowEnd = now();
  const cpu = process.cpuUsage(cpu0);
  const genWait1 = runQueueWait(genSchedstat);
  const [main1, all1] = await redisCpu(setup);
  const redis1 = [now(), runQueueWait(redisSchedstat), throttled(config.budgetStat)];
  const redisS = (redis1[0]! - redis0[0]!) / 1000;
  const windowS = (step.windowEnd - step.windowStart) / 1000;
  step.sending = false;
  await sender;
  const drainUntil = now() + DRAIN_MS;
  let drained = false;
  while (now() < drainUntil) {
    if (step.acked >= step.sent && nodes.every((n) => n.stepReads >= step.sent)) {
      drained = true;
      break;
    }
    await sleep(20);
  }
  const reads = step.readsInWindow;
  return {
    nodes: nodes.length,
    offered: rate,
    sent: step.sentInWindow / windowS,
    achieved: step.ackedInWindow / windowS,
    heldBack: step.heldBack,
    readShare: step.sentInWindow === 0 ? 0 : reads / (step.sentInWindow * nodes.length),
    p50Ms: percentile(step.histogram, reads, 0.5),
    p99Ms: percentile(step.histogram, reads, 0.99),
    maxMs: step.maxMs,
    redisMainCores: (main1 - main0) / redisS,
    redisCores: (all1 - all0) / redisS,
    genCores: (cpu.user + cpu.system) / 1e6 / windowS,
    redisWaitCores: (redis1[1]! - redis0[1]!) / redisS,
    genWaitCores: (genWait1 - genWait0) / windowS,
    redisThrottledCores: (redis1[2]! - redis0[2]!) / redisS,
    retried: 0,
    errors: step.errors,
    firstError: step.firstError,
    drained,
    windowS,
    load1: os.loadavg()[0]!,
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "") as GenConfig;
  const keys = new ClusterKeys(config.cluster);
  const setup = new Requester(await connect(config.port));
  const serverInfo = String(await setup.ok(["INFO", "server"]));
  const redisPid = Number(/^process_id:(\d+)/m.exec(serverInfo)?.[1] ?? 0);
  const placeholder = new Step();
  const nodes: SimNode[] = [];
  for (let i = 0; i < config.nodes; i++) {
    const senders = Array.from({ length: config.senders }, (_, s) => `s${s}`).filter(
      (_, s) => s % config.nodes === i,
    );
    const node = new SimNode(
      `n${i + 1}`,
      keys,
      await connect(config.port),
      await connect(config.port),
      senders.length > 0 ? senders : [`s${i}`],
      placeholder,
    );
    await node.start();
    nodes.push(node);
  }
  const beats = setInterval(() => {
    for (const node of nodes) node.beat();
  }, BEAT_INTERVAL_MS);
  const moderation = setInterval(() => {
    for (const node of nodes) node.checkModeration();
  }, MODERATION_POLL_MS);
  try {
    let retries = config.retries;
    for (const rate of config.rates) {
      let figures = await runStep(config, nodes, setup, redisPid, rate);
      for (
        let retried = 1;
        retries > 0 && pastBound(figures, config) && notRedisLimit(figures, config.redisCores);
        retried++
      ) {
        retries--;
        process.stderr.write(`${rate} lines/s: past the bound, but not by Redis; again\n`);
        // The backlog of the dropped try is read (or trimmed) before the next one.
        await sleep(2000);
        figures = { ...(await runStep(config, nodes, setup, redisPid, rate)), retried };
      }
      process.stdout.write(`${JSON.stringify({ step: figures })}\n`);
      if (pastBound(figures, config)) break;
    }
  } finally {
    clearInterval(beats);
    clearInterval(moderation);
    for (const node of nodes) node.close();
    setup.socket.destroy();
  }
  process.stdout.write(`${JSON.stringify({ done: true })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
