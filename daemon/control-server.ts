import net from "node:net";
import { JSONRPCErrorException, JSONRPCServer } from "json-rpc-2.0";
import { NdjsonReader } from "../protocol/ndjson.ts";
import { MAX_CONTROL_LINE, RpcErrorCode } from "../protocol/rpc.ts";

/** One control client's connection, handed to every method so it can stream notifications. */
export interface ControlConnection {
  notify(method: string, params: unknown): void;
  onClose(listener: () => void): void;
  readonly closed: boolean;
  /** Bytes written to this client and not yet taken by it. */
  readonly backlog: number;
  close(): void;
}

/** Answers a client has not taken yet past which its requests are no longer read (backpressure). */
const MAX_BACKLOG = 1 << 20;
/** Requests of one client being answered at once past which its requests are no longer read. */
const MAX_IN_FLIGHT = 64;
/** Unread output past which a control client is disconnected. */
const MAX_UNREAD = 16 << 20;

export type ControlMethod = (params: unknown, conn: ControlConnection) => unknown;

export function invalidParams(message: string): JSONRPCErrorException {
  return new JSONRPCErrorException(message, RpcErrorCode.invalidParams);
}

/**
 * Serves JSON-RPC 2.0 over newline-delimited JSON. json-rpc-2.0 does the bookkeeping
 * (parse errors, batches, unknown methods); this module does the framing and makes sure a
 * bad client can only ever hurt its own connection.
 */
export function createControlServer(
  methods: Readonly<Record<string, ControlMethod>>,
  onError: (msg: string, meta: Record<string, unknown>) => void,
): net.Server {
  const rpc = new JSONRPCServer<ControlConnection>({ errorListener: () => {} });
  for (const [name, method] of Object.entries(methods)) {
    rpc.addMethod(name, (params, conn) => method(params, conn));
  }
  rpc.mapErrorToJSONRPCErrorResponse = (id, error) => {
    if (error instanceof JSONRPCErrorException) {
      return { jsonrpc: "2.0", id, error: error.toObject() };
    }
    onError("control method failed", { error: String(error?.stack ?? error) });
    return {
      jsonrpc: "2.0",
      id,
      error: { code: RpcErrorCode.internal, message: String(error?.message ?? error) },
    };
  };

  return net.createServer((socket) => {
    const closeListeners: (() => void)[] = [];
    let closed = false;
    const write = (value: unknown) => {
      if (closed) return;
      socket.write(`${JSON.stringify(value)}\n`);
      // Reads pause at MAX_BACKLOG; this catches what still piles up (one chunk's answers, notifications).
      if (socket.writableLength > MAX_UNREAD) socket.destroy();
    };
    const conn: ControlConnection = {
      notify: (method, params) => write({ jsonrpc: "2.0", method, params }),
      onClose: (listener) => closeListeners.push(listener),
      get closed() {
        return closed;
      },
      get backlog() {
        return socket.writableLength;
      },
      close: () => socket.destroy(),
    };
    const reader = new NdjsonReader(MAX_CONTROL_LINE);
    // Backpressure: a client that sends requests faster than it takes the answers is not
    // read until it catches up, so its answers cannot pile up in our memory.
    let inFlight = 0;
    const busy = () => inFlight >= MAX_IN_FLIGHT || socket.writableLength > MAX_BACKLOG;
    const maybeResume = () => {
      if (!closed && socket.isPaused() && !busy()) socket.resume();
    };
    socket.on("drain", maybeResume);
    socket.on("data", (chunk: Buffer) => {
      const ok = reader.push(chunk, (line) => {
        inFlight++;
        Promise.resolve(rpc.receiveJSON(line, conn))
          .then(
            (response) => {
              if (response !== null) write(response);
            },
            (error) => onError("control request failed", { error: String(error) }),
          )
          .finally(() => {
            inFlight--;
            maybeResume();
          });
      });
      if (ok && busy()) socket.pause();
      if (!ok) {
        write({
          jsonrpc: "2.0",
          id: null,
          error: {
            code: RpcErrorCode.requestTooLarge,
            message: `request line over ${MAX_CONTROL_LINE} bytes`,
          },
        });
        // Discard what is still in flight for a moment so the client can read the error
        // (destroying with unread input would reset the connection and lose it).
        socket.removeAllListeners("data");
        socket.on("data", () => {});
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      for (const listener of closeListeners) listener();
    });
  });
}
