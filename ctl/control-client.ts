import net from "node:net";
import { JSONRPCClient, type JSONRPCResponse } from "json-rpc-2.0";
import { NdjsonReader } from "../protocol/ndjson.ts";
import {
  type ControlMethodName,
  type ControlResults,
  MAX_CONTROL_LINE,
  RpcErrorCode,
} from "../protocol/rpc.ts";
import { formatDuration } from "./duration.ts";
import {
  CommandTimedOut,
  CtlError,
  DaemonError,
  DaemonNotRunning,
  ExitCode,
  SocketPermissionDenied,
} from "./errors.ts";
import { CTL_VERSION } from "./version.ts";

/** The code json-rpc-2.0's timeout answers with here; never on the wire. */
const CALL_TIMED_OUT = -1;

type NotificationHandler = (method: string, params: unknown) => void;

/** ControlClient is tsctl's connection to the daemon's control socket. */
export class ControlClient {
  private readonly socket: net.Socket;
  private readonly rpc: JSONRPCClient;
  private readonly socketPath: string;
  private readonly timeoutMs: number;
  private notificationHandler: NotificationHandler = () => {};
  private closedBy: Error | null = null;

  private constructor(socket: net.Socket, socketPath: string, timeoutMs: number) {
    this.socket = socket;
    this.socketPath = socketPath;
    this.timeoutMs = timeoutMs;
    this.rpc = new JSONRPCClient((payload) => {
      socket.write(`${JSON.stringify(payload)}\n`);
    });
    const reader = new NdjsonReader(64 * MAX_CONTROL_LINE);
    socket.on("data", (chunk: Buffer) => {
      reader.push(chunk, (line) => {
        const message = JSON.parse(line) as { method?: string; params?: unknown };
        if (typeof message.method === "string") this.notificationHandler(message.method, message.params);
        else this.rpc.receive(message as JSONRPCResponse);
      });
    });
    socket.on("close", () => {
      this.closedBy ??= new CtlError(
        `the daemon closed the control connection (${socketPath})`,
        ExitCode.daemonError,
      );
      this.rpc.rejectAllPendingRequests(this.closedBy.message);
    });
  }

  /** The socket this connection reached. */
  get path(): string {
    return this.socketPath;
  }

  static connect(socketPath: string, timeoutMs: number): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(socketPath);
      // A daemon whose listen queue is full (stopped, or swamped) is there but slow: not "not running".
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new CommandTimedOut(
            `timed out after ${formatDuration(timeoutMs)} connecting to ${socketPath}: something holds the socket but does not accept`,
          ),
        );
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        socket.on("error", () => {});
        resolve(new ControlClient(socket, socketPath, timeoutMs));
      });
      socket.once("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (error.code === "EACCES" || error.code === "EPERM")
          reject(new SocketPermissionDenied(socketPath, error));
        else reject(new DaemonNotRunning(socketPath, error));
      });
    });
  }

  /**
   * Connects to the first of socketPaths that answers; onFallback hears of each one passed over.
   * Nothing answering anywhere is one DaemonNotRunning naming every path tried; a permission
   * error stops the search, since that socket is the daemon's.
   */
  static async connectFirst(
    socketPaths: readonly string[],
    timeoutMs: number,
    onFallback: (from: string, to: string) => void = () => {},
  ): Promise<ControlClient> {
    let lastError: unknown;
    for (const [index, socketPath] of socketPaths.entries()) {
      if (index > 0) onFallback(socketPaths[index - 1]!, socketPath);
      try {
        return await ControlClient.connect(socketPath, timeoutMs);
      } catch (error) {
        if (!(error instanceof DaemonNotRunning)) throw error;
        lastError = error.cause;
      }
    }
    throw new DaemonNotRunning(socketPaths, lastError);
  }

  /** One call; the daemon's JSON-RPC error becomes a DaemonError. A method of control.md answers its typed result. */
  call<M extends ControlMethodName>(
    method: M,
    params?: unknown,
    timeoutMs?: number,
  ): Promise<ControlResults[M]>;
  call<T = unknown>(method: string, params?: unknown, timeoutMs?: number): Promise<T>;
  async call(method: string, params?: unknown, timeoutMs = this.timeoutMs): Promise<unknown> {
    // A request written to a closed connection is never answered: say so now, not at --timeout.
    if (this.closedBy) throw this.closedBy;
    const id = this.nextId();
    this.pending.set(id, method);
    let response: JSONRPCResponse;
    try {
      response = await this.rpc
        .timeout(timeoutMs, (timedOut) => ({
          jsonrpc: "2.0",
          id: timedOut,
          error: { code: CALL_TIMED_OUT, message: "" },
        }))
        .requestAdvanced({ jsonrpc: "2.0", id, method, params });
    } finally {
      this.pending.delete(id);
    }
    if (response.error?.code === CALL_TIMED_OUT)
      throw new CommandTimedOut(
        `timed out: no answer from ${this.socketPath} within ${formatDuration(timeoutMs)}`,
      );
    if (response.error?.code === RpcErrorCode.methodNotFound)
      throw new DaemonError(
        response.error.code,
        `this tsd-daemon does not serve ${method} (${response.error.message}): is it older than tsctl ${CTL_VERSION}?`,
      );
    if (response.error) throw new DaemonError(response.error.code, response.error.message);
    return response.result;
  }

  /** The methods asked and not answered yet. */
  get unanswered(): string[] {
    return [...this.pending.values()];
  }

  onNotification(handler: NotificationHandler): void {
    this.notificationHandler = handler;
  }

  /** Resolves when the daemon closes the connection. */
  closed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) resolve();
      else this.socket.once("close", () => resolve());
    });
  }

  /** Hangs up at once: a daemon that stopped reading (SIGSTOP) must not keep tsctl waiting on a polite close. */
  close(): void {
    this.socket.destroy();
  }

  private id = 0;
  private readonly pending = new Map<number, string>();
  private nextId(): number {
    return ++this.id;
  }
}
