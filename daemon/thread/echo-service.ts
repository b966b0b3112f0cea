import type net from "node:net";
import { ConnectionIds, connectionLog } from "./connection-ids.ts";
import { closeWithin, type Service, type ThreadLog } from "./service.ts";

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
  private readonly ids: ConnectionIds;

  constructor(log: ThreadLog, changed: () => void, ids = new ConnectionIds("echo")) {
    this.log = log;
    this.changed = changed;
    this.ids = ids;
  }

  get sessions(): number {
    return this.open.size;
  }

  accept(socket: net.Socket): void {
    const log = connectionLog(this.log, this.ids.fields(socket));
    this.open.add(socket);
    this.changed();
    log("info", "echo connect");
    socket.pipe(socket);
    socket.on("error", (error: NodeJS.ErrnoException) => {
      log("info", "echo connection error", { error: error.code ?? error.message });
    });
    socket.on("close", () => {
      this.open.delete(socket);
      this.changed();
      log("info", "echo disconnect");
    });
  }

  async shutdown(graceMs: number): Promise<void> {
    await Promise.all([...this.open].map((socket) => closeWithin(socket, graceMs)));
  }
}
