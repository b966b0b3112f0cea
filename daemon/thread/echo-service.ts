import type net from "node:net";
import { closeWithin, peerAddress, type Service, type ThreadLog } from "./service.ts";

/**
 * EchoService is RFC 862: every byte back, unchanged and in order. pipe() gives backpressure
 * for free: a client that sends without reading fills its socket's buffer, which pauses our
 * reads of it, so server memory per client stays at the stream high-water marks.
 */
export class EchoService implements Service {
  readonly name = "echo" as const;
  private readonly open = new Set<net.Socket>();
  private readonly log: ThreadLog;
  private readonly changed: () => void;

  constructor(log: ThreadLog, changed: () => void) {
    this.log = log;
    this.changed = changed;
  }

  get sessions(): number {
    return this.open.size;
  }

  accept(socket: net.Socket): void {
    const address = peerAddress(socket);
    this.open.add(socket);
    this.changed();
    this.log("info", "echo connect", { address });
    socket.pipe(socket);
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.log("info", "echo connection error", { address, error: error.code ?? error.message });
    });
    socket.on("close", () => {
      this.open.delete(socket);
      this.changed();
      this.log("info", "echo disconnect", { address });
    });
  }

  async shutdown(graceMs: number): Promise<void> {
    await Promise.all([...this.open].map((socket) => closeWithin(socket, graceMs)));
  }
}
