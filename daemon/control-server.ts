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
      if (!closed) socket.write(`${JSON.stringify(value)}\n`);
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
    socket.on("data", (chunk: Buffer) => {
      const ok = reader.push(chunk, (line) => {
        rpc.receiveJSON(line, conn).then(
          (response) => {
            if (response !== null) write(response);
          },
          (error) => onError("control request failed", { error: String(error) }),
        );
      });
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
