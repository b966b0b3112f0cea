/**
 * The component tier's pieces, all in the test's own process: the primary's hub server with
 * the real chat hub, threads' real hub links to it over a Unix socket, and chat services behind
 * a real TCP listener, in a temporary directory with cheap scrypt. What the real daemon would
 * spread over processes and threads runs here on one event loop, so a test can use small limits
 * and look at both ends of a link.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { EmbeddedChatHub, type HistorySink } from "../../daemon/primary/hub/chat-hub.ts";
import { HubServer, type ThreadLink } from "../../daemon/primary/hub/hub-server.ts";
import { IdentityStore } from "../../daemon/shared/identity-store.ts";
import { ChatService } from "../../daemon/thread/chat/chat-service.ts";
import type { SessionLimits } from "../../daemon/thread/chat/chat-session.ts";
import { HubLink } from "../../daemon/thread/hub-link.ts";
import type { HistoryEntry, HubCommand, ListenPorts, LogRecord } from "../../protocol/hub-messages.ts";
import { tempDir, waitFor } from "../helpers/daemon.ts";

/** What a component test needs of ava's t. */
export interface Context {
  teardown(fn: () => void | Promise<void>): void;
}

/** A line of the daemon's log, as the hub or a thread handed it over. */
export interface Logged {
  level: string;
  msg: string;
  meta?: Record<string, unknown>;
}

/** History kept in memory, in order. */
export class MemoryHistory implements HistorySink {
  readonly records: HistoryEntry[] = [];

  append(record: HistoryEntry): void {
    this.records.push(record);
  }

  last(n: number): HistoryEntry[] {
    return n <= 0 ? [] : this.records.slice(-n);
  }
}

/** Resolves with the first value check returns that is not undefined, re-checking at each wake(). */
class Waiters {
  private waiting: (() => void)[] = [];

  wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  async until<T>(check: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

export interface HubOptions {
  maxPerAddress?: number;
  maxLine?: number;
  pingIntervalMs?: number;
  threadTimeoutMs?: number;
  /** What the hub tells a thread at hello. */
  welcome?: { paused: boolean; ports: ListenPorts | null };
}

/** The primary's end: the hub server and the chat hub behind it, and what they reported. */
export class TestHub {
  readonly dir: string;
  readonly path: string;
  readonly chat: EmbeddedChatHub;
  readonly server: HubServer;
  readonly history = new MemoryHistory();
  readonly logs: Logged[] = [];
  readonly gone: ThreadLink[] = [];
  readonly unresponsive: { link: ThreadLink; silentMs: number }[] = [];
  readonly listening: { service: string; ok: boolean; port: number }[] = [];
  private readonly events = new Waiters();

  private constructor(dir: string, opts: HubOptions) {
    this.dir = dir;
    this.path = path.join(dir, "hub.sock");
    const log = (level: string, msg: string, meta?: Record<string, unknown>) =>
      this.record({ level, msg, meta });
    this.chat = new EmbeddedChatHub({ maxPerAddress: opts.maxPerAddress ?? 0, history: this.history, log });
    const welcome = opts.welcome ?? { paused: true, ports: null };
    this.server = new HubServer(
      this.chat,
      {
        onHello: () => welcome,
        onListening: (_link, service, ok, port) =>
          this.record(null, () => this.listening.push({ service, ok, port })),
        onLog: (_link, record: LogRecord) =>
          this.record({ level: record.level, msg: record.msg, meta: record.meta }),
        onGone: (link) => this.record(null, () => this.gone.push(link)),
        onUnresponsive: (link, silentMs) =>
          this.record(null, () => this.unresponsive.push({ link, silentMs })),
      },
      {
        maxLine: opts.maxLine ?? 4096,
        pingIntervalMs: opts.pingIntervalMs ?? 60_000,
        threadTimeoutMs: opts.threadTimeoutMs ?? 120_000,
      },
    );
  }

  static async start(t: Context, opts: HubOptions = {}): Promise<TestHub> {
    const dir = tempDir();
    const hub = new TestHub(dir, opts);
    await hub.server.listen(hub.path);
    t.teardown(() => {
      hub.server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return hub;
  }

  /** Resolves once check finds something in what the hub reported (logs, gone, unresponsive...). */
  until<T>(check: () => T | undefined, what: string): Promise<T> {
    return this.events.until(check, what);
  }

  /** The hub's side of a thread's link, once its hello is in. */
  linkOf(worker: number, thread: number): Promise<ThreadLink> {
    return this.until(
      () => [...this.server.links].find((l) => l.worker === worker && l.thread === thread),
      `the link of thread ${worker}.${thread}`,
    );
  }

  private record(entry: Logged | null, also?: () => void): void {
    if (entry) this.logs.push(entry);
    also?.();
    this.events.wake();
  }
}

/** A thread's end of the hub: the real HubLink, with every command it got kept in order. */
export class ThreadEnd {
  readonly link: HubLink;
  readonly worker: number;
  readonly thread: number;
  readonly received: HubCommand[] = [];
  lost: string | null = null;
  private cursor = 0;
  private readonly events = new Waiters();

  private constructor(hub: TestHub, worker: number, thread: number, onCommand?: (m: HubCommand) => void) {
    this.worker = worker;
    this.thread = thread;
    this.link = new HubLink(
      hub.path,
      4096,
      (message) => {
        this.received.push(message);
        onCommand?.(message);
        this.events.wake();
      },
      (reason) => {
        this.lost = reason;
        this.events.wake();
      },
    );
  }

  /** Connects, says hello and resolves after the welcome. */
  static async connect(
    t: Context,
    hub: TestHub,
    worker: number,
    thread: number,
    onCommand?: (m: HubCommand) => void,
  ): Promise<ThreadEnd> {
    const end = new ThreadEnd(hub, worker, thread, onCommand);
    t.teardown(() => end.link.close());
    end.link.send({ k: "hello", worker, thread });
    await end.next("welcome");
    return end;
  }

  /** Consumes commands up to the next of kind k that matches; resolves with it. */
  next<K extends HubCommand["k"]>(
    k: K,
    match: (m: Extract<HubCommand, { k: K }>) => boolean = () => true,
  ): Promise<Extract<HubCommand, { k: K }>> {
    return this.events.until(() => {
      for (let i = this.cursor; i < this.received.length; i++) {
        const m = this.received[i]!;
        if (m.k === k && match(m as Extract<HubCommand, { k: K }>)) {
          this.cursor = i + 1;
          return m as Extract<HubCommand, { k: K }>;
        }
      }
      return undefined;
    }, `a ${k} at thread ${this.worker}.${this.thread}`);
  }

  /** Every command of kind k received so far. */
  all<K extends HubCommand["k"]>(k: K): Extract<HubCommand, { k: K }>[] {
    return this.received.filter((m) => m.k === k) as Extract<HubCommand, { k: K }>[];
  }

  /** Resolves with the reason once the link is lost. */
  whenLost(): Promise<string> {
    return this.events.until(
      () => this.lost ?? undefined,
      `thread ${this.worker}.${this.thread} to lose its link`,
    );
  }
}

/** The limits of a chat thread in a component test: the daemon's defaults unless told. */
export const DEFAULT_LIMITS: SessionLimits = {
  maxLine: 4096,
  loginTimeoutMs: 60_000,
  floodBurst: 20,
  floodRate: 5,
  outputLimit: 1 << 20,
};

/** One session thread's chat side: the real ChatService on a TCP port, linked to the hub. */
export class ChatThread {
  readonly end: ThreadEnd;
  readonly service: ChatService;
  readonly port: number;
  readonly logs: Logged[];

  private constructor(end: ThreadEnd, service: ChatService, port: number, logs: Logged[]) {
    this.end = end;
    this.service = service;
    this.port = port;
    this.logs = logs;
  }

  /**
   * Starts a chat thread: identities in the hub's directory (shared by every thread, as in the
   * daemon) with cheap scrypt, hub commands carried out as the session thread does.
   */
  static async start(
    t: Context,
    hub: TestHub,
    thread: number,
    limits: Partial<SessionLimits> = {},
  ): Promise<ChatThread> {
    const logs: Logged[] = [];
    const identities = new IdentityStore(path.join(hub.dir, "identities.json"), {
      scrypt: { N: 1024 },
    });
    let service: ChatService | null = null;
    const end = await ThreadEnd.connect(t, hub, 1, thread, (m) => {
      if (m.k === "deliver") service?.deliver(m);
      else if (m.k === "direct") service?.direct(m);
      else if (m.k === "drop") service?.drop(m);
    });
    service = new ChatService(
      {
        hub: end.link,
        identities,
        limits: { ...DEFAULT_LIMITS, ...limits },
        log: (level, msg, meta) => logs.push({ level, msg, meta }),
      },
      `1.${thread}`,
      () => {},
    );
    const chat = service;
    const server = net.createServer({ noDelay: true }, (socket) => {
      socket.on("error", () => {});
      chat.accept(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.teardown(async () => {
      server.close();
      await chat.shutdown(0);
      await identities.flush().catch(() => {});
    });
    return new ChatThread(end, chat, (server.address() as net.AddressInfo).port, logs);
  }

  /** Resolves once this thread has logged a record whose message matches. */
  logged(msg: RegExp): Promise<Logged> {
    return waitFor(() => this.logs.find((l) => msg.test(l.msg)), 15_000, `a log record ${msg}`);
  }
}
