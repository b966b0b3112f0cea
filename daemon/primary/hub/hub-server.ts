import net from "node:net";
import {
  type HubToThread,
  hubLineLimit,
  type ListenPorts,
  type LogRecord,
  type ServiceName,
  type ThreadToHub,
} from "../../../protocol/hub-messages.ts";
import { NdjsonReader } from "../../../protocol/ndjson.ts";
import type { ChatHub } from "./chat-hub.ts";

let lastMessage: HubToThread | null = null;
let lastEncoded = "";
/** A broadcast sends one message object to every thread: it is serialised once, not once per thread. */
function encode(message: HubToThread): string {
  if (message !== lastMessage) {
    lastMessage = message;
    lastEncoded = `${JSON.stringify(message)}\n`;
  }
  return lastEncoded;
}

/** One session thread as the primary sees it. */
export interface ThreadLink {
  worker: number;
  thread: number;
  pid: number;
  sessions: { chat: number; echo: number };
  listening: Partial<Record<ServiceName, boolean>>;
  /** When the thread last sent anything (its answers to pings included). */
  lastSeen: number;
  send(message: HubToThread): void;
  /** Cuts the link: the thread counts as gone. */
  close(): void;
}

export interface HubServerOptions {
  /** The daemon's --max-line: it bounds the longest message the link must carry (hubLineLimit). */
  maxLine: number;
  /** How often each thread is pinged. */
  pingIntervalMs: number;
  /** A thread silent for this long is unresponsive: its link is cut and onUnresponsive called. */
  threadTimeoutMs: number;
}

export interface HubEvents {
  onHello(link: ThreadLink): { paused: boolean; ports: ListenPorts | null };
  onListening(link: ThreadLink, service: ServiceName, ok: boolean, port: number, error?: string): void;
  onLog(link: ThreadLink | null, record: LogRecord): void;
  onGone(link: ThreadLink): void;
  /** A thread stopped answering: the primary has its process restart it. */
  onUnresponsive(link: ThreadLink, silentMs: number): void;
}

/**
 * HubServer is the primary's end of every thread's link: a local socket per thread, so a
 * thread is one hop from the hub and no worker process relays its traffic.
 */
export class HubServer {
  readonly links = new Set<ThreadLink>();
  private readonly server: net.Server;
  private readonly events: HubEvents;
  private readonly chat: ChatHub;
  private readonly opts: HubServerOptions;
  private readonly maxMessage: number;
  private readonly watchdog: NodeJS.Timeout;

  constructor(chat: ChatHub, events: HubEvents, opts: HubServerOptions) {
    this.chat = chat;
    this.events = events;
    this.opts = opts;
    this.maxMessage = hubLineLimit(opts.maxLine);
    this.server = net.createServer((socket) => this.accept(socket));
    this.watchdog = setInterval(() => this.checkThreads(), opts.pingIntervalMs);
    this.watchdog.unref();
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(path, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  broadcast(message: HubToThread): void {
    for (const link of this.links) link.send(message);
  }

  close(): void {
    clearInterval(this.watchdog);
    this.server.close();
  }

  /** Pings every thread; one that has been silent past the timeout is treated as dead. */
  private checkThreads(): void {
    const now = Date.now();
    for (const link of this.links) {
      const silentMs = now - link.lastSeen;
      if (silentMs > this.opts.threadTimeoutMs) {
        link.close();
        this.events.onUnresponsive(link, silentMs);
      } else {
        link.send({ k: "ping" });
      }
    }
  }

  private log(link: ThreadLink | null, msg: string, meta: Record<string, unknown>): void {
    this.events.onLog(link, { k: "log", level: "error", msg, meta });
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    let link: ThreadLink | null = null;
    const reader = new NdjsonReader(this.maxMessage);
    let corked = false;
    const send = (message: HubToThread) => {
      let encoded = encode(message);
      if (encoded.length * 3 > this.maxMessage && Buffer.byteLength(encoded) > this.maxMessage) {
        // Never send what the thread's reader must refuse: a request gets an error instead.
        this.log(link, "hub message too large for the link; not sent", {
          kind: message.k,
          bytes: encoded.length,
        });
        if (message.k !== "reply") return;
        encoded = `${JSON.stringify({ k: "reply", seq: message.seq, body: { error: "answer too large" } })}\n`;
      }
      // Everything sent to this thread in one tick leaves in one write.
      if (!corked) {
        corked = true;
        socket.cork();
        queueMicrotask(() => {
          corked = false;
          socket.uncork();
        });
      }
      socket.write(encoded);
    };
    const dispatch = (message: ThreadToHub) => {
      switch (message.k) {
        case "hello": {
          link = {
            worker: message.worker,
            thread: message.thread,
            pid: message.pid,
            sessions: { chat: 0, echo: 0 },
            listening: {},
            lastSeen: Date.now(),
            send,
            close: () => socket.destroy(),
          };
          this.links.add(link);
          send({ k: "welcome", ...this.events.onHello(link) });
          return;
        }
        case "pong":
          return;
        case "log":
          this.events.onLog(link, message);
          return;
        case "listening":
          if (!link) return;
          link.listening[message.service] = message.ok;
          this.events.onListening(link, message.service, message.ok, message.port, message.error);
          return;
        case "stats":
          if (!link) return;
          link.sessions.chat = message.chat;
          link.sessions.echo = message.echo;
          return;
      }
      if (!link) return;
      const chat = this.chat;
      const peer = link;
      const reply = (seq: number, body: unknown) => send({ k: "reply", seq, body });
      switch (message.k) {
        case "admit":
          return reply(message.seq, { ok: chat.admit(peer, message.address) });
        case "release":
          return chat.release(peer, message.address);
        case "throttle":
          return reply(message.seq, chat.throttle(message.key, message.address, message.lastAddress ?? null));
        case "failed":
          return chat.failed(message.key, message.address);
        case "registration":
          return reply(message.seq, chat.registration(message.address, message.spend));
        case "reserve":
          return reply(message.seq, { ok: chat.reserve(peer, message.sid, message.key) });
        case "join":
          return reply(message.seq, chat.join(peer, message.sid, message.key, message.name, message.address));
        case "leave":
          chat.leave(peer, message.sid, message.reason);
          if (message.seq !== undefined) reply(message.seq, { ok: true });
          return;
        case "say":
          return chat.say(peer, message.sid, message.text);
        case "act":
          return chat.act(peer, message.sid, message.text);
        case "msg":
          return reply(message.seq, chat.msg(peer, message.sid, message.to, message.text));
        case "who":
          return reply(message.seq, { names: chat.who() });
        case "history":
          return reply(message.seq, chat.history(message.n));
      }
    };
    socket.on("data", (chunk: Buffer) => {
      if (link) link.lastSeen = Date.now();
      const ok = reader.push(chunk, (line) => {
        try {
          dispatch(JSON.parse(line) as ThreadToHub);
        } catch (error) {
          this.events.onLog(link, {
            k: "log",
            level: "error",
            msg: "hub message failed",
            meta: { error: String(error) },
          });
        }
      });
      if (!ok) {
        this.log(link, "hub message from a thread too large; link closed", { limit: this.maxMessage });
        socket.destroy();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      if (!link) return;
      this.links.delete(link);
      this.chat.peerGone(link);
      this.events.onGone(link);
    });
  }
}
