import type { ExecutionContext, TestFn } from "ava";
import type { StatusResult } from "../../protocol/rpc.ts";
import { ChatClient } from "./chat-client.ts";
import { type DaemonSpawnOptions, type RunningDaemon, startDaemon, waitFor } from "./daemon.ts";
import { callRpc } from "./rpc.ts";

/** The daemon answered a control call with a JSON-RPC error. */
export class RpcFailed extends Error {
  readonly code: number;

  constructor(method: string, code: number, message: string) {
    super(`${method}: ${code} ${message}`);
    this.name = "RpcFailed";
    this.code = code;
  }
}

/** One signed-in user as users.list answers. */
export interface OnlineUser {
  name: string;
  address: string;
  worker: number;
  thread: number;
}

/**
 * A real tsd-daemon for a test, with what tests keep asking of it: chat clients that are
 * closed for them, accounts, and control calls straight over the socket (no tsctl process).
 */
export interface TestDaemon {
  readonly daemon: RunningDaemon;
  /** A chat connection, closed when the test ends. */
  client(): Promise<ChatClient>;
  /** A chat connection that has registered name; resolves after its online line. */
  user(name: string, password?: string): Promise<ChatClient>;
  /** One control call; a JSON-RPC error rejects with RpcFailed. */
  rpc<T = unknown>(method: string, params?: unknown): Promise<T>;
  status(): Promise<StatusResult>;
  who(): Promise<OnlineUser[]>;
  /** Asks for status until check holds; resolves with that status (15 s unless told). */
  until(check: (status: StatusResult) => boolean, what: string, timeoutMs?: number): Promise<StatusResult>;
}

class Handle implements TestDaemon {
  running: RunningDaemon | null = null;
  private clients: ChatClient[] = [];

  get daemon(): RunningDaemon {
    if (!this.running)
      throw new Error("the daemon is not started yet (useDaemon(test) starts it in test.before)");
    return this.running;
  }

  async client(): Promise<ChatClient> {
    const c = await ChatClient.connect(this.daemon.chatPort);
    this.clients.push(c);
    return c;
  }

  async user(name: string, password = "secret1"): Promise<ChatClient> {
    const c = await this.client();
    await c.register(name, password);
    return c;
  }

  async rpc<T = unknown>(method: string, params?: unknown): Promise<T> {
    const answer = await callRpc(this.daemon.socket, method, params);
    if (answer.error) throw new RpcFailed(method, answer.error.code, answer.error.message);
    return answer.result as T;
  }

  status(): Promise<StatusResult> {
    return this.rpc<StatusResult>("status");
  }

  who(): Promise<OnlineUser[]> {
    return this.rpc<OnlineUser[]>("users.list");
  }

  until(check: (status: StatusResult) => boolean, what: string, timeoutMs = 15_000): Promise<StatusResult> {
    return waitFor(
      async () => {
        const status = await this.status().catch(() => null);
        return status && check(status) ? status : null;
      },
      timeoutMs,
      what,
    );
  }

  closeClients(): void {
    for (const c of this.clients.splice(0)) c.close();
  }

  async stop(): Promise<void> {
    this.closeClients();
    await this.running?.cleanup();
  }
}

/**
 * useDaemon(t, args) starts a daemon for one test and stops it when the test ends.
 * useDaemon(test, args) starts one for the whole file (test.before) and stops it after the
 * last test; the chat clients a test opened are closed after each test, so the tests that
 * share it must be test.serial.
 */
export function useDaemon(test: TestFn, args?: string[], opts?: DaemonSpawnOptions): TestDaemon;
export function useDaemon(
  t: ExecutionContext,
  args?: string[],
  opts?: DaemonSpawnOptions,
): Promise<TestDaemon>;
export function useDaemon(
  target: TestFn | ExecutionContext,
  args: string[] = [],
  opts: DaemonSpawnOptions = {},
): TestDaemon | Promise<TestDaemon> {
  const handle = new Handle();
  if (typeof target === "function") {
    target.before(async () => {
      handle.running = await startDaemon(args, opts);
    });
    target.afterEach.always(() => handle.closeClients());
    target.after.always(() => handle.stop());
    return handle;
  }
  return startDaemon(args, opts).then((running) => {
    handle.running = running;
    target.teardown(() => handle.stop());
    return handle;
  });
}
