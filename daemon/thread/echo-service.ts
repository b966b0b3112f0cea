import type net from "node:net";
import { ConnectionIds, connectionLog } from "./connection-ids.ts";
import { closeWithin, type Service, type ThreadLog } from "./service.ts";

/**
 * The session thread of each worker process that serves echo; the others do not listen for it.
 * Echo's work per byte is the kernel's (a CPU profile of ping-pong: 52 % in the write syscall, 6 %
 * in JavaScript), so what decides its latency is how many event loops share a core: two loops of
 * one process, each with half the connections, are time-sliced by the kernel and a connection
 * waits out the other loop's slice (p99 3-4x one loop's on one core). One loop per process serves
 * echo as the bare Node server does; --workers spreads it over cores.
 */
export const ECHO_THREAD = 1;

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
