import net from "node:net";
import { NdjsonReader } from "../../../protocol/ndjson.ts";
import {
  type ControlMethodName,
  type ControlResults,
  MAX_CONTROL_LINE,
  RpcErrorCode,
} from "../../../protocol/rpc.ts";
import { createDispatch } from "./control-dispatch.ts";
import { describePeer } from "./control-peer.ts";
import { CONTROL_MAX_BACKLOG, CONTROL_MAX_QUEUED, CONTROL_MAX_UNREAD } from "../../shared/limits.ts";

/** One control client's connection, handed to every method so it can stream notifications. */
export interface ControlConnection {
  notify(method: string, params: unknown): void;
  onClose(listener: () => void): void;
  /** Bytes written to this client and not yet taken by it. */
  readonly backlog: number;
  close(): void;
  /** Who is at the other end, for the log of the moderation actions (control-peer.ts); absent in test doubles. */
  peer?(): Promise<string>;
}

export type ControlMethod = (params: unknown, conn: ControlConnection) => unknown;

/** The handler of method M: it checks M's params and answers M's result (protocol/rpc.ts). */
export type Serve<M extends ControlMethodName> = (
  params: unknown,
  conn: ControlConnection,
) => ControlResults[M] | Promise<ControlResults[M]>;

/**
 * Serves JSON-RPC 2.0 over newline-delimited JSON. Each connection's requests are answered
 * one at a time, in order (control-dispatch.ts bounds each answer); this module does the
 * framing and the backpressure, so a bad client can only ever hurt its own connection.
 */
export function createControlServer(
  methods: Readonly<Record<string, ControlMethod>>,
  onError: (msg: string, meta: Record<string, unknown>) => void,
): net.Server {
  const dispatch = createDispatch(methods, onError);

  // Half-open: a client that sends its requests and then ends its side still gets every answer.
  return net.createServer({ allowHalfOpen: true }, (socket) => {
    const closeListeners: (() => void)[] = [];
    let peer: Promise<string> | undefined;
    let closed = false;
    let inputEnded = false;
    const write = (text: string) => {
      if (closed || socket.writableEnded) return;
      socket.write(`${text}\n`);
      if (socket.writableLength > CONTROL_MAX_UNREAD) socket.destroy();
    };
    const conn: ControlConnection = {
      notify: (method, params) => write(JSON.stringify({ jsonrpc: "2.0", method, params })),
      onClose: (listener) => closeListeners.push(listener),
      get backlog() {
        return socket.writableLength;
      },
      close: () => socket.destroy(),
      peer: () => (peer ??= describePeer(socket)),
    };

    const queue: string[] = [];
    let head = 0;
    let working = false;
    const queued = () => queue.length - head;
    const canRead = () => queued() < CONTROL_MAX_QUEUED && socket.writableLength <= CONTROL_MAX_BACKLOG;
    const drained = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.on("drain", done);
        socket.on("close", done);
      });

    async function work(): Promise<void> {
      if (working) return;
      working = true;
      try {
        while (!closed && head < queue.length) {
          const line = queue[head]!;
          queue[head++] = "";
          if (head === queue.length) {
            queue.length = 0;
            head = 0;
          }
          const answer = await dispatch(line, conn);
          if (answer !== null) write(answer);
          if (!closed && socket.writableLength > CONTROL_MAX_BACKLOG) await drained();
        }
      } finally {
        working = false;
      }
      if (closed) return;
      if (inputEnded) socket.end();
      else if (socket.isPaused() && canRead()) socket.resume();
    }
    const startWork = () =>
      void work().catch((error: unknown) =>
        onError("control connection failed", { error: String((error as Error)?.stack ?? error) }),
      );

    const reader = new NdjsonReader(MAX_CONTROL_LINE);
    socket.on("data", (chunk: Buffer) => {
      const ok = reader.push(chunk, (line) => queue.push(line));
      if (!ok) {
        write(
          JSON.stringify({
            jsonrpc: "2.0",
            id: null,
            error: {
              code: RpcErrorCode.requestTooLarge,
              message: `request line over ${MAX_CONTROL_LINE} bytes`,
            },
          }),
        );
        // Discard what is still in flight for a moment so the client can read the error
        // (destroying with unread input would reset the connection and lose it).
        queue.length = 0;
        head = 0;
        socket.removeAllListeners("data");
        socket.on("data", () => {});
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
      if (!canRead()) socket.pause();
      startWork();
    });
    socket.on("end", () => {
      inputEnded = true;
      if (!working && queued() === 0) socket.end();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      for (const listener of closeListeners) listener();
    });
  });
}
