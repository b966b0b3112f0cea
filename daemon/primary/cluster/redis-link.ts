import { createHash } from "node:crypto";

/** A Redis reply as RESP2 gives it: a string, a number, null, or an array of those. */
export type RedisReply = string | number | null | RedisReply[];

/** Redis could not be reached within --redis-connect-timeout at start. */
export class RedisUnreachable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RedisUnreachable";
  }
}

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
  if (start === -1 || at < start) return url;
  const userinfo = url.slice(start + 2, at);
  const colon = userinfo.indexOf(":");
  const user = colon === -1 ? "" : userinfo.slice(0, colon);
  return `${url.slice(0, start + 2)}${user}:***${url.slice(at)}`;
}

/** A Lua script run by its SHA1, sent whole when Redis does not know it (after a restart: NOSCRIPT). */
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

/**
 * RedisLink is the daemon's connections to Redis, behind one small interface (call, eval, a
 * blocking connection of its own) so the client library is one file's business. The library is
 * node-redis (@redis/client), loaded here with a dynamic import, so nothing of it is loaded
 * without --hub redis. Commands are never queued while disconnected (disableOfflineQueue) and
 * never resent: a command whose connection drops is rejected, so a chat line is sent at most once.
 */
export class RedisLink {
  readonly url: string;
  private readonly opts: RedisLinkOptions;
  private client: Client | null = null;
  private readonly blocking: Client[] = [];
  private down = false;

  private constructor(opts: RedisLinkOptions) {
    this.opts = opts;
    this.url = redactUrl(opts.url);
  }

  /** Connects, retrying until connectTimeoutMs; then rejects with RedisUnreachable naming the URL (no password). */
  static async connect(opts: RedisLinkOptions): Promise<RedisLink> {
    const link = new RedisLink(opts);
    link.client = await link.open("commands", opts.connectTimeoutMs);
    return link;
  }

  get connected(): boolean {
    return this.client?.isReady === true;
  }

  /**
   * A connection of its own for blocking reads (XREAD BLOCK), so they never delay other commands;
   * close() drops it (a read in progress rejects), for a reader that stopped answering.
   */
  async blockingConnection(): Promise<BlockingConnection> {
    const client = await this.open("reader", this.opts.connectTimeoutMs);
    this.blocking.push(client);
    return {
      read: (args) => client.sendCommand(args) as Promise<RedisReply>,
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
    if (!client) return Promise.reject(new Error("not connected to Redis"));
    return client.sendCommand(args.map(String)) as Promise<RedisReply>;
  }

  /** Runs a script by its SHA1; after NOSCRIPT (a restarted Redis) sends it whole. Not retried otherwise. */
  async eval(script: Script, keys: string[], args: (string | number)[]): Promise<RedisReply> {
    const rest = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await this.call(["EVALSHA", script.sha, ...rest]);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
      return this.call(["EVAL", script.source, ...rest]);
    }
  }

  close(): void {
    for (const client of [this.client, ...this.blocking]) {
      try {
        client?.destroy();
      } catch {}
    }
    this.client = null;
    this.blocking.length = 0;
  }

  private async open(role: string, timeoutMs: number): Promise<Client> {
    // The library only in cluster mode: a dynamic import, never a static one.
    const { createClient } = await import("@redis/client");
    const deadline = Date.now() + timeoutMs;
    let starting = true;
    let lastError: unknown = null;
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
      if (starting || this.down || role !== "commands") return;
      this.down = true;
      this.opts.log("warn", "Redis connection lost; reconnecting", {
        url: this.url,
        error: (error as Error)?.message ?? String(error),
      });
    });
    client.on("ready", () => {
      if (role === "commands" && this.down) {
        this.down = false;
        this.opts.log("info", "Redis connection back", { url: this.url });
      }
    });
    try {
      await client.connect();
    } catch (error) {
      try {
        client.destroy();
      } catch {}
      const cause = lastError ?? error;
      throw new RedisUnreachable(
        `cannot reach Redis at ${this.url} within ${Math.round(timeoutMs / 1000)} s: ${(cause as Error)?.message ?? String(cause)}`,
        { cause },
      );
    }
    starting = false;
    return client;
  }
  /** The client for one role; createClient throws here when the URL is not one it accepts. */
  private create(
    createClient: (options: object) => unknown,
    role: string,
    timeoutMs: number,
    deadline: number,
    starting: () => boolean,
    failed: (error: Error) => void,
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
          return reconnectDelay(retries);
        },
      },
    }) as Client;
  }
}
