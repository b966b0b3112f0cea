import type net from "node:net";
import type { LogLevel } from "../../protocol/hub-messages.ts";

/** What every log line about one connection carries, so an operator can join its lines up. */
export interface ConnectionFields {
  /** The connection's id, e.g. w1t2-17: worker 1, thread 2, its 17th connection. */
  conn: string;
  address: string;
  port: number | null;
}

/**
 * ConnectionIds names a thread's connections: `<prefix>-<n>`, n counting from 1 in the order
 * they were accepted. A chat session's id is its sid, so the hub's lines about it (sign-in,
 * kick) carry the same id as the thread's (connect, disconnect). An id is given once per
 * socket, so a refusal, the session and its end all log the same one; a TLS socket takes the
 * id of the TCP connection under it (inherit).
 */
export class ConnectionIds {
  readonly prefix: string;
  private next = 0;
  private readonly ids = new WeakMap<object, string>();

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** The socket's id, given now if it has none. */
  of(socket: net.Socket): string {
    let id = this.ids.get(socket);
    if (id === undefined) {
      id = `${this.prefix}-${++this.next}`;
      this.ids.set(socket, id);
    }
    return id;
  }

  /** A socket wrapping another (TLS over TCP) is the same connection: it takes its id. */
  inherit(from: net.Socket, to: net.Socket): void {
    this.ids.set(to, this.of(from));
  }

  /** The connection's id, address and port, for its log lines. */
  fields(socket: net.Socket): ConnectionFields {
    return {
      conn: this.of(socket),
      address: socket.remoteAddress ?? "unknown",
      port: socket.remotePort ?? null,
    };
  }
}

type Log = (level: LogLevel, msg: string, meta?: Record<string, unknown>) => void;

/**
 * A log for one connection's lines: each record leads with the connection's id, address and
 * port, and leaves out what is not known yet (a name before the sign-in) instead of name=null.
 */
export function connectionLog(log: Log, fields: ConnectionFields): Log {
  return (level, msg, meta) => {
    const record: Record<string, unknown> = { ...fields };
    for (const [key, value] of Object.entries(meta ?? {}))
      if (value !== null && value !== undefined) record[key] = value;
    log(level, msg, record);
  };
}
