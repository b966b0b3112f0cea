import net from "node:net";
import type { HubToThread, LogRecord, ServiceName, ThreadToHub } from "../protocol/hub-messages.ts";
import { NdjsonReader } from "../protocol/ndjson.ts";
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

/** The longest hub message accepted from a thread; chat lines are far shorter. */
const MAX_HUB_LINE = 4 << 20;

/** One session thread as the primary sees it. */
export interface ThreadLink {
  worker: number;
  thread: number;
  pid: number;
  sessions: { chat: number; echo: number };
  listening: Partial<Record<ServiceName, boolean>>;
  send(message: HubToThread): void;
}

export interface HubEvents {
  onHello(link: ThreadLink): { paused: boolean };
  onListening(link: ThreadLink, service: ServiceName, ok: boolean, error?: string): void;
  onLog(link: ThreadLink | null, record: LogRecord): void;
  onGone(link: ThreadLink): void;
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

  constructor(chat: ChatHub, events: HubEvents) {
    this.chat = chat;
    this.events = events;
    this.server = net.createServer((socket) => this.accept(socket));
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
    this.server.close();
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    let link: ThreadLink | null = null;
    const reader = new NdjsonReader(MAX_HUB_LINE);
    let corked = false;
    const send = (message: HubToThread) => {
      // Everything sent to this thread in one tick leaves in one write.
      if (!corked) {
        corked = true;
        socket.cork();
        queueMicrotask(() => {
          corked = false;
          socket.uncork();
        });
      }
      socket.write(encode(message));
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
            send,
          };
          this.links.add(link);
          const { paused } = this.events.onHello(link);
          send({ k: "welcome", paused });
          return;
        }
        case "log":
          this.events.onLog(link, message);
          return;
        case "listening":
          if (!link) return;
          link.listening[message.service] = message.ok;
          this.events.onListening(link, message.service, message.ok, message.error);
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
          return reply(message.seq, { delayMs: chat.throttleDelay(message.key, message.address) });
        case "failed":
          return chat.failed(message.key, message.address);
        case "reserve":
          return reply(message.seq, { ok: chat.reserve(peer, message.sid, message.key) });
        case "join":
          return reply(message.seq, chat.join(peer, message.sid, message.key, message.name, message.address));
        case "leave":
          return chat.leave(peer, message.sid, message.reason);
        case "say":
          return chat.say(peer, message.sid, message.text);
        case "act":
          return chat.act(peer, message.sid, message.text);
        case "msg":
          return reply(message.seq, chat.msg(peer, message.sid, message.to, message.text));
        case "who":
          return reply(message.seq, { names: chat.who() });
        case "history":
          return reply(message.seq, { records: chat.history(message.n) });
      }
    };
    socket.on("data", (chunk: Buffer) => {
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
      if (!ok) socket.destroy(new Error("hub message too large"));
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
