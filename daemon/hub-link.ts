import net from "node:net";
import type { HubRequest, HubToThread, ThreadToHub } from "../protocol/hub-messages.ts";
import { NdjsonReader } from "../protocol/ndjson.ts";

const MAX_HUB_LINE = 4 << 20;

/**
 * HubLink is a thread's connection to the hub in the primary. Writes made in one tick leave
 * in one syscall (cork until the microtask queue drains).
 */
export class HubLink {
  private readonly socket: net.Socket;
  private corked = false;
  private seq = 0;
  private readonly pending = new Map<number, (body: unknown) => void>();

  constructor(path: string, onMessage: (message: HubToThread) => void, onLost: () => void) {
    const reader = new NdjsonReader(MAX_HUB_LINE);
    this.socket = net.connect(path);
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => {
      reader.push(chunk, (line) => {
        const message = JSON.parse(line) as HubToThread;
        if (message.k === "reply") {
          const resolve = this.pending.get(message.seq);
          this.pending.delete(message.seq);
          resolve?.(message.body);
        } else {
          onMessage(message);
        }
      });
    });
    this.socket.on("error", () => {});
    this.socket.on("close", onLost);
  }

  send(message: ThreadToHub): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      queueMicrotask(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /** Sends a request and resolves with the hub's reply body. If the hub goes, the thread exits, so no timeout. */
  request<T>(message: DistributiveOmit<HubRequest, "seq">): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve) => {
      this.pending.set(seq, resolve as (body: unknown) => void);
      this.send({ ...message, seq } as HubRequest);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.end(resolve));
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
