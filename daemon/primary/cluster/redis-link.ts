import { createHash } from "node:crypto";
import {
  connectionReason,
  isNotRedisProtocol,
  RedisFault,
  RedisNotServing,
  RedisRefusesTsd,
  RedisRefusesWrites,
  RedisTimedOut,
  RedisUnreachable,
  mayHaveRun,
  redisFault,
} from "./redis-faults.ts";

export { RedisUnreachable } from "./redis-faults.ts";

/** A Redis reply as RESP2 gives it: a string, a number, null, or an array of those. */
export type RedisReply = string | number | null | RedisReply[];

/** --redis-url is not a URL the client accepts (a bad scheme, port or path). */
export class RedisUrlInvalid extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisUrlInvalid";
  }
}

/**
 * The URL without its password (`redis://:secret@h:6379` -> `redis://:***@h:6379`): for logs,
 * status and errors. Read as text, not parsed: a password with an unencoded `/`, `?`, `#` or `@`
 * ends a parser's authority early and would be shown as host or path; here everything between
 * `//` and the last `@` is the user part, and all of it after the user name's `:` is masked.
 */
export function redactUrl(url: string): string {
  const start = url.indexOf("//");
  const at = url.lastIndexOf("@");
  if (at === -1) return url;
  if (start === -1 || at < start) {
    // No `//` before the `@` (a typo such as redis:/:pw@host): all between the scheme and the `@` is masked.
    const colon = url.indexOf(":");
    return colon !== -1 && colon < at
      ? `${url.slice(0, colon + 1)}***${url.slice(at)}`
      : `***${url.slice(at)}`;
  }
  const userinfo = url.slice(start + 2, at);
  const colon = userinfo.indexOf(":");
  const user = colon === -1 ? "" : userinfo.slice(0, colon);
  return `${url.slice(0, start + 2)}${user}:***${url.slice(at)}`;
}

/** A Lua script, run by its SHA1 (RedisLink loads it on each connection before its first use). */
export class Script {
  readonly source: string;
  readonly sha: string;
  constructor(source: string) {
    this.source = source;
    this.sha = createHash("sha1").update(source).digest("hex");
  }
}

/** A connection for blocking reads: read sends one command; close drops the connection. */
export interface BlockingConnection {
  read(args: string[]): Promise<RedisReply>;
  close(): void;
}

/** The minimal surface of the client library the cluster uses: one generic command call. */
interface Client {
  sendCommand(args: string[]): Promise<unknown>;
  connect(): Promise<unknown>;
  duplicate(): Client;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  readonly isReady: boolean;
}

export interface RedisLinkOptions {
  url: string;
  /** How long the start may wait for Redis (--redis-connect-timeout), ms. */
  connectTimeoutMs: number;
  /** The connection's name in CLIENT LIST (tests kill tsd's connections by it). */
  name: string;
  log: (level: "info" | "warn" | "error", msg: string, meta?: Record<string, unknown>) => void;
}

/** The delay before the n-th reconnection attempt: quick at first, at most a second (back within 5 s). */
function reconnectDelay(retries: number): number {
  return Math.min(50 * 2 ** retries, 1000);
}

/** Seconds since startedAt, to a tenth: what the start really waited. */
function waitedSeconds(startedAt: number): string {
  return ((Date.now() - startedAt) / 1000).toFixed(1);
}

/** Redis as status shows it: fault is what is wrong now, in one sentence, absent when nothing is. */
export interface RedisStatus {
  url: string;
  connected: boolean;
  fault?: string;
}

/** Commands whose success shows that Redis takes writes again (the heartbeat is a script, every second). */
const WRITES = new Set(["EVALSHA", "EVAL", "XADD"]);

/** A command unanswered this long (no blocking read is among them) means Redis stalls: status says so. */
const STALL_SHOWN_MS = 2000;

/**
 * A command on the commands connection unanswered this long (the heartbeat sends one every second)
 * means the link went silent (a frozen middlebox, a pulled cable: no FIN, no RST, and TCP would
 * wait minutes) or Redis stalls: the two look the same from here. The connection is dropped and
 * a new one opened, so the paths of a lost connection run (in-flight outcomes, refusals, rejoin).
 */
export const SILENT_LINK_MS = 3000;
/** A new connection that is not ready this long (its handshake unanswered) is dropped and tried again. */
const OPEN_SILENT_MS = 3000;
/** How often the commands connection is checked for silence. */
const WATCH_MS = 250;

/** The client library's class of Redis reply errors, kept once the library is loaded (faults are told from it). */
type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * RedisLink is the daemon's connections to Redis, behind one small interface (call, eval, a
 * blocking connection of its own) so the client library is one file's business. The library is
 * node-redis (@redis/client), loaded here with a dynamic import, so nothing of it is loaded
 * without --hub redis. Commands are never queued while disconnected (disableOfflineQueue) and
 * never resent: a command whose connection drops is rejected, so a chat line is sent at most once.
 * What a command fails with is a RedisFault (redis-faults.ts: one sentence, no library text) when
 * it is a fault an operator must expect, and the library's error otherwise.
 */
export class RedisLink {
  readonly url: string;
  private readonly opts: RedisLinkOptions;
  private client: Client | null = null;
  private readonly blocking: Client[] = [];
  private down = false;
  private replyError: ErrorClass | null = null;
  /** What the last failed connection attempt met (ECONNREFUSED...): why a command was refused offline. */
  private lastConnectionError: unknown = null;
  /** A refusal Redis keeps giving (OOM, READONLY, LOADING, WRONGPASS...) until a write goes through again. */
  private standing: RedisFault | null = null;
  /** When each command on the commands connection still waiting for its answer was sent, by a number of its own. */
  private readonly waiting = new Map<number, number>();
  private sent = 0;
  /** Since when Redis has not answered, once a silent connection was dropped; 0 when it answers. */
  private silentSince = 0;
  /** Since when the commands client has not been ready (node-redis reconnecting), 0 while it is. */
  private notReadySince = 0;
  /** Clients dropped as silent: the commands they had sent fail with RedisTimedOut (they may have run). */
  private readonly dropped = new WeakSet<Client>();
  private reopening = false;
  /** The scripts whose SCRIPT LOAD went out on each commands client since it was last (re)connected. */
  private readonly loaded = new WeakMap<Client, Set<string>>();
  private closed = false;
  private watch: NodeJS.Timeout | null = null;

  private constructor(opts: RedisLinkOptions) {
    this.opts = opts;
    this.url = redactUrl(opts.url);
  }

  /**
   * Connects, retrying until connectTimeoutMs; then rejects with RedisUnreachable naming the URL
   * (no password), or at once with RedisRefusesTsd when Redis refuses the password or user.
   */
  static async connect(opts: RedisLinkOptions): Promise<RedisLink> {
    const link = new RedisLink(opts);
    opts.log("info", "connecting to the cluster's Redis", {
      url: link.url,
      timeoutSeconds: opts.connectTimeoutMs / 1000,
    });
    link.client = await link.open("commands", opts.connectTimeoutMs);
    link.watch = setInterval(() => link.watchSilence(), WATCH_MS);
    link.watch.unref();
    return link;
  }

  get connected(): boolean {
    return this.client?.isReady === true;
  }

  /** For status: the URL (no password), whether Redis answers, and what is wrong with it now. */
  status(): RedisStatus {
    let connected = this.connected;
    let fault = this.standing?.message;
    const oldest = this.waiting.values().next().value;
    if (oldest !== undefined && Date.now() - oldest > STALL_SHOWN_MS) {
      fault = `the cluster's Redis has not answered for ${Math.floor((Date.now() - oldest) / 1000)} s (${this.url})`;
      // Its connection still open is not Redis answering: status says one thing.
      connected = false;
    }
    if (!connected && this.silentSinceDrop()) fault = this.silentSentence();
    else if (!connected)
      fault =
        this.refusalAtConnect()?.message ??
        `the cluster's Redis cannot be reached (${this.url}): ${connectionReason(this.lastConnectionError)}`;
    return fault === undefined ? { url: this.url, connected } : { url: this.url, connected, fault };
  }

  /**
   * A connection of its own for blocking reads (XREAD BLOCK), so they never delay other commands;
   * close() drops it (a read in progress rejects), for a reader that stopped answering.
   */
  async blockingConnection(timeoutMs = this.opts.connectTimeoutMs): Promise<BlockingConnection> {
    const client = await this.open("reader", timeoutMs);
    this.blocking.push(client);
    return {
      read: (args) => this.send(client, args),
      close: () => {
        const at = this.blocking.indexOf(client);
        if (at !== -1) this.blocking.splice(at, 1);
        try {
          client.destroy();
        } catch {}
      },
    };
  }

  call(args: (string | number)[]): Promise<RedisReply> {
    const client = this.client;
    if (!client)
      return Promise.reject(
        new RedisUnreachable(
          `the cluster's Redis cannot be reached (${this.url}): not connected`,
          "not connected",
        ),
      );
    const id = this.sent++;
    this.waiting.set(id, Date.now());
    return this.send(client, args.map(String)).finally(() => this.waiting.delete(id));
  }

  /**
   * Runs a script by its SHA1. The first use of a script on a connection sends SCRIPT LOAD just
   * before it (not awaited: Redis runs a connection's commands in order), so a new or reconnected
   * connection never meets NOSCRIPT. Never resent: a NOSCRIPT (Redis lost its scripts while
   * connected: SCRIPT FLUSH) refuses the call unsent, since a resend would go behind commands
   * sent after it (one sender's lines out of order, and the highest published no longer proving
   * the lines below it landed).
   */
  async eval(script: Script, keys: string[], args: (string | number)[]): Promise<RedisReply> {
    const client = this.client;
    if (client?.isReady) this.loadOnce(client, script);
    try {
      return await this.call(["EVALSHA", script.sha, String(keys.length), ...keys, ...args.map(String)]);
    } catch (error) {
      // NOSCRIPT is not in the faults: it passes send() as the library's error.
      if (error instanceof RedisFault || !String((error as Error)?.message).startsWith("NOSCRIPT"))
        throw error;
      if (client) this.loaded.delete(client);
      throw new RedisNotServing(
        "the cluster's Redis is not serving now: it lost tsd's scripts (NOSCRIPT)",
        "it lost tsd's scripts (NOSCRIPT)",
        { cause: error },
      );
    }
  }

  /** Sends SCRIPT LOAD for script on client unless sent there already since it was last (re)connected. */
  private loadOnce(client: Client, script: Script): void {
    const loaded = this.loaded.get(client) ?? new Set<string>();
    this.loaded.set(client, loaded);
    if (loaded.has(script.sha)) return;
    loaded.add(script.sha);
    this.call(["SCRIPT", "LOAD", script.source]).catch(() => loaded.delete(script.sha));
  }

  close(): void {
    this.closed = true;
    if (this.watch) clearInterval(this.watch);
    for (const client of [this.client, ...this.blocking]) {
      try {
        client?.destroy();
      } catch {}
    }
    this.client = null;
    this.blocking.length = 0;
  }

  /** One command; a failure the operator must expect becomes its RedisFault. */
  private async send(client: Client, args: string[]): Promise<RedisReply> {
    const sentBeforeDrop = !this.dropped.has(client);
    try {
      const reply = (await client.sendCommand(args)) as RedisReply;
      if (this.standing && WRITES.has(args[0]!)) this.standing = null;
      return reply;
    } catch (error) {
      // Sent on a connection dropped since as silent: it may have run (a command sent after the drop
      // fails as the client library's closed client: never sent).
      if (sentBeforeDrop && this.dropped.has(client)) {
        const timedOut = new RedisTimedOut(
          `the cluster's Redis (${this.url}) did not answer within ${SILENT_LINK_MS / 1000} s`,
          "no answer in time",
          { cause: error },
        );
        timedOut.mayHaveRun = true;
        throw timedOut;
      }
      const fault = this.fault(error);
      // Refused unsent while the connection dropped as silent is opened again: say what is wrong.
      if (fault instanceof RedisUnreachable && this.silentSinceDrop())
        throw new RedisUnreachable(this.silentSentence(), "no answer", { cause: error });
      if (
        fault instanceof RedisRefusesWrites ||
        fault instanceof RedisNotServing ||
        fault instanceof RedisRefusesTsd
      )
        this.standing = fault;
      // The connection went after the command was sent: it may have run (tsctl says so).
      if (fault && mayHaveRun(error)) fault.mayHaveRun = true;
      throw fault ?? error;
    }
  }

  /**
   * The connection was dropped as silent and Redis has not answered since, with no connection
   * error that says more (a try given up on, or destroyed, is only "not connected").
   */
  private silentSinceDrop(): boolean {
    const cause = this.lastConnectionError;
    return this.silentSince > 0 && (cause === null || connectionReason(cause) === "not connected");
  }

  private silentSentence(): string {
    return `the cluster's Redis has not answered for ${Math.floor((Date.now() - this.silentSince) / 1000)} s (${this.url})`;
  }

  /**
   * A command unanswered for SILENT_LINK_MS on a ready connection: the connection is dropped (its
   * commands rejected as may-have-run) and a new one opened. A reconnection of the client library
   * stuck as long (a handshake unanswered) is replaced too.
   */
  private watchSilence(): void {
    const client = this.client;
    if (this.closed || this.reopening || !client) return;
    const now = Date.now();
    if (!client.isReady) {
      this.notReadySince ||= now;
      if (now - this.notReadySince >= OPEN_SILENT_MS) this.replace(client);
      return;
    }
    this.notReadySince = 0;
    const oldest = this.waiting.values().next().value;
    if (oldest === undefined || now - oldest < SILENT_LINK_MS) return;
    this.silentSince = oldest;
    this.lastConnectionError = null;
    if (!this.down)
      this.opts.log(
        "warn",
        "the cluster's Redis has not answered; dropping the connection and reconnecting",
        {
          url: this.url,
          silentMs: now - oldest,
        },
      );
    this.down = true;
    this.replace(client);
  }

  /**
   * Drops client and opens the commands connection anew, each try bounded, until one is ready or
   * the link closes. Until then client stays the one commands go to: closed, it refuses them unsent.
   */
  private replace(client: Client): void {
    this.reopening = true;
    this.dropped.add(client);
    try {
      client.destroy();
    } catch {}
    void (async () => {
      try {
        while (!this.closed) {
          const triedAt = Date.now();
          const next = await this.open("commands", OPEN_SILENT_MS).catch(() => null);
          if (next && this.closed) next.destroy();
          else if (next) {
            this.client = next;
            return;
          }
          // A try that waited out its bound is followed at once (a stalled Redis may wake any moment).
          const wait = 200 - (Date.now() - triedAt);
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
        }
      } finally {
        this.notReadySince = 0;
        this.reopening = false;
      }
    })();
  }

  private fault(error: unknown, lastConnectionError: unknown = this.lastConnectionError): RedisFault | null {
    const fault = redisFault(error, {
      url: this.url,
      isReply: this.isReply(error),
      lastConnectionError,
    });
    // Offline because Redis refused the reconnection (its password changed): that is the fault.
    if (fault instanceof RedisUnreachable && lastConnectionError !== null)
      return this.refusalAtConnect() ?? fault;
    return fault;
  }

  /** The refusal Redis answered the last connection attempt with (WRONGPASS, NOAUTH, LOADING...), if it did. */
  private refusalAtConnect(): RedisFault | null {
    const last = this.lastConnectionError;
    return this.isReply(last) ? redisFault(last, { url: this.url, isReply: true }) : null;
  }

  private isReply(error: unknown): boolean {
    return this.replyError !== null && error instanceof this.replyError;
  }

  private async open(role: string, timeoutMs: number): Promise<Client> {
    const startedAt = Date.now();
    // The library only in cluster mode: a dynamic import, never a static one.
    const { createClient, ErrorReply } = await import("@redis/client");
    this.replyError = ErrorReply;
    const deadline = startedAt + timeoutMs;
    let starting = true;
    let lastError: unknown = null;
    /** The server answered with bytes no Redis sends: it is not Redis, and waiting will not make it so. */
    let notRedis: Error | null = null;
    let client: Client;
    try {
      client = this.create(
        createClient,
        role,
        timeoutMs,
        deadline,
        () => starting,
        (error) => {
          lastError = error;
        },
        () => notRedis,
      );
    } catch (error) {
      throw new RedisUrlInvalid(
        `--redis-url ${this.url} is not a Redis URL (redis[s]://[[user]:password@]host:port[/db], with @ / ? # in a password written %40 %2F %3F %23): ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
    }
    // Without an error listener a connection error would end the process.
    client.on("error", (error) => {
      lastError = error;
      if (isNotRedisProtocol(error)) notRedis = error as Error;
      // Only the commands connection's: a reader's error is not why a command was refused.
      if (role !== "commands") return;
      this.lastConnectionError = error;
      if (starting || this.down) return;
      this.down = true;
      this.opts.log("warn", "Redis connection lost; reconnecting", {
        url: this.url,
        error: this.fault(error, null)?.reason ?? connectionReason(error),
      });
    });
    client.on("ready", () => {
      if (role !== "commands") return;
      // A new connection, maybe to a restarted Redis: each script is loaded again before its first use.
      this.loaded.delete(client);
      this.lastConnectionError = null;
      this.silentSince = 0;
      if (this.down) {
        this.down = false;
        this.opts.log("info", "Redis connection back", { url: this.url });
      }
    });
    // connectTimeout bounds the TCP connect only: a handshake unanswered (a silent link, a stalled
    // Redis) would wait for ever, so the whole opening is bounded too.
    let openTimer: NodeJS.Timeout | undefined;
    const unanswered = new Promise<never>((_, reject) => {
      openTimer = setTimeout(
        () =>
          reject(
            new RedisTimedOut(
              `the cluster's Redis (${this.url}) did not answer within ${waitedSeconds(startedAt)} s`,
              "no answer in time",
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([client.connect(), unanswered]);
    } catch (error) {
      try {
        client.destroy();
      } catch {}
      throw this.startFault(notRedis ?? lastError ?? error, startedAt);
    } finally {
      clearTimeout(openTimer);
    }
    starting = false;
    return client;
  }

  /** Why the start could not connect, in one sentence naming the URL (never the library's text). */
  private startFault(cause: unknown, startedAt: number): RedisFault {
    const fault = this.fault(cause, null);
    if (fault && !(fault instanceof RedisUnreachable)) return fault;
    const reason = fault?.reason ?? connectionReason(cause);
    return new RedisUnreachable(
      `cannot reach Redis at ${this.url} (tried for ${waitedSeconds(startedAt)} s): ${reason}`,
      reason,
      { cause },
    );
  }

  /** The client for one role; createClient throws here when the URL is not one it accepts. */
  private create(
    createClient: (options: object) => unknown,
    role: string,
    timeoutMs: number,
    deadline: number,
    starting: () => boolean,
    failed: (error: Error) => void,
    notRedis: () => Error | null,
  ): Client {
    return createClient({
      url: this.opts.url,
      name: `${this.opts.name}-${role}`,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: Math.max(1000, Math.min(timeoutMs, 5000)),
        reconnectStrategy: (retries: number, cause: Error) => {
          failed(cause);
          if (starting() && Date.now() >= deadline) return cause;
          // Something other than Redis at the URL: the start stops at once, naming it.
          if (starting() && notRedis()) return notRedis();
          // A refused password or user is not cured by waiting: the start stops at once.
          if (starting() && this.fault(cause, null) instanceof RedisRefusesTsd) return cause;
          return reconnectDelay(retries);
        },
      },
    }) as Client;
  }
}
