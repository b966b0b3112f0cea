import net from "node:net";
import type { HubToThread, ThreadToHub } from "../protocol/hub-messages.ts";
import { NdjsonReader } from "../protocol/ndjson.ts";

const MAX_HUB_LINE = 4 << 20;

/**
 * HubLink is a thread's connection to the hub in the primary. Writes made in one tick leave
 * in one syscall (cork until the microtask queue drains).
 */
export class HubLink {
  private readonly socket: net.Socket;
  private corked = false;

  constructor(path: string, onMessage: (message: HubToThread) => void, onLost: () => void) {
    const reader = new NdjsonReader(MAX_HUB_LINE);
    this.socket = net.connect(path);
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => {
      reader.push(chunk, (line) => onMessage(JSON.parse(line) as HubToThread));
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

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.end(resolve));
  }
}
