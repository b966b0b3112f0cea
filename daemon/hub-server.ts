import net from "node:net";
import type { HubToThread, LogRecord, ServiceName, ThreadToHub } from "../protocol/hub-messages.ts";
import { NdjsonReader } from "../protocol/ndjson.ts";

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

  constructor(events: HubEvents) {
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
    const send = (message: HubToThread) => {
      socket.write(`${JSON.stringify(message)}\n`);
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
    };
    socket.on("data", (chunk: Buffer) => {
      const ok = reader.push(chunk, (line) => dispatch(JSON.parse(line) as ThreadToHub));
      if (!ok) socket.destroy(new Error("hub message too large"));
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      if (!link) return;
      this.links.delete(link);
      this.events.onGone(link);
    });
  }
}
