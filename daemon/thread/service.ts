import type net from "node:net";
import type { LogLevel, ServiceName } from "../../protocol/hub-messages.ts";

export type ThreadLog = (level: LogLevel, msg: string, meta?: Record<string, unknown>) => void;

/** A service a session thread runs on its own listener: echo or chat. */
export interface Service {
  readonly name: ServiceName;
  /** Open sessions right now. */
  readonly sessions: number;
  /** Takes over a freshly accepted connection. */
  accept(socket: net.Socket): void;
  /** Says goodbye to every session and closes them, forcibly after graceMs. */
  shutdown(graceMs: number): Promise<void>;
}

/** Ends a socket politely, and destroys it if it has not closed after graceMs. */
export function closeWithin(socket: net.Socket, graceMs: number): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), graceMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}

export function peerAddress(socket: net.Socket): string {
  return socket.remoteAddress ?? "unknown";
}
