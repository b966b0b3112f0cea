/**
 * The control server with tsctl's real client, in one process: createControlServer on a Unix
 * socket in a temp dir with a method table of the test's own (real method names, answers in
 * the daemon's shapes), and ControlClient (and tsctl's commands through runCli) calling it.
 */
import fs from "node:fs";
import type net from "node:net";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { JSONRPCErrorException } from "json-rpc-2.0";
import { type CtlSession, runCli } from "../../ctl/cli.ts";
import { ControlClient } from "../../ctl/control-client.ts";
import { CommandTimedOut, CtlError, DaemonError, DaemonNotRunning, ExitCode } from "../../ctl/errors.ts";
import { type ControlMethod, createControlServer } from "../../daemon/primary/control/control-server.ts";
import { MAX_ANSWER_BYTES, RpcErrorCode, type StatusResult } from "../../protocol/rpc.ts";
import { tempDir } from "../helpers/daemon.ts";

const STATUS: StatusResult = {
  version: "0.0.0-test",
  pid: 4242,
  startedAt: "2026-01-01T00:00:00.000Z",
  uptimeSeconds: 3725,
  paused: false,
  listeners: [{ service: "chat", host: "127.0.0.1", port: 4040, listening: true }],
  workers: [{ id: 1, pid: 4243, threads: 2, sessions: 3, threadSessions: [1, 2] }],
  sessions: { chat: 3, echo: 0 },
  usersOnline: 2,
};

/** A control server on a fresh socket with methods; closed when the test ends. */
async function serve(
  t: ExecutionContext,
  methods: Record<string, ControlMethod>,
): Promise<{ socket: string; errors: string[] }> {
  const dir = tempDir();
  const socket = path.join(dir, "control.sock");
  const errors: string[] = [];
  const server: net.Server = createControlServer(methods, (msg) => errors.push(msg));
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { socket, errors };
}

async function client(t: ExecutionContext, socket: string, timeoutMs = 15_000): Promise<ControlClient> {
  const c = await ControlClient.connect(socket, timeoutMs);
  t.teardown(() => c.close());
  return c;
}

/** Runs one tsctl command line in this process; resolves with its exit code and what it printed. */
async function tsctl(
  argv: string[],
  onOut: (text: string) => void = () => {},
): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const session: CtlSession = {};
  const io = {
    out: (text: string) => {
      out.push(text);
      onOut(text);
    },
    err: (text: string) => err.push(text),
    interactive: false,
    confirm: async () => false,
    interrupted: () => new Promise<void>(() => {}),
  };
  const code = await runCli(argv, io, session);
  (await session.client?.catch(() => null))?.close();
  return { code, out, err };
}

test("control client - a result, and the daemon's error as a DaemonError with its code and exit code 1", async (t) => {
  const { socket } = await serve(t, {
    status: () => STATUS,
    "users.kick": () => {
      throw new JSONRPCErrorException("nobody is not online", RpcErrorCode.notOnline);
    },
  });
  const c = await client(t, socket);
  t.deepEqual(await c.call("status"), STATUS);
  const error = await t.throwsAsync(c.call("users.kick", { name: "nobody" }), { instanceOf: DaemonError });
  t.is(error!.code, RpcErrorCode.notOnline);
  t.is(error!.exitCode, ExitCode.daemonError);
  t.is(error!.message, "nobody is not online");
  const unknown = await t.throwsAsync(c.call("no.such.method"), { instanceOf: DaemonError });
  t.is(unknown!.code, RpcErrorCode.methodNotFound);
  t.deepEqual(await c.call("status"), STATUS, "the connection goes on after errors");
});

test("control client - tsctl's commands in this process: the human form, --json, an error in one line with exit 1", async (t) => {
  const { socket } = await serve(t, {
    status: () => STATUS,
    "chat.announce": (params) => ({ delivered: (params as { text: string }).text.length }),
    "users.kick": () => {
      throw new JSONRPCErrorException("nobody is not online", RpcErrorCode.notOnline);
    },
  });
  const status = await tsctl(["--socket", socket, "status"]);
  t.is(status.code, 0);
  t.regex(status.out.join("\n"), /^tsd 0\.0\.0-test, pid 4242, up 1h 2m/);
  t.regex(status.out.join("\n"), /worker 1 {2}pid 4243 {2}threads 2 {2}sessions 3/);
  t.regex(status.err.join("\n"), /warning: tsctl .* talks to tsd-daemon 0\.0\.0-test/);
  const json = await tsctl(["--socket", socket, "status", "--json"]);
  t.deepEqual(JSON.parse(json.out.join("\n")), STATUS);
  const announced = await tsctl(["--socket", socket, "announce", "hello", "there"]);
  t.deepEqual(announced.out, ["announced to 11 users"]);
  const kicked = await tsctl(["--socket", socket, "kick", "nobody"]);
  t.is(kicked.code, ExitCode.daemonError);
  t.deepEqual(kicked.err, ["tsctl: nobody is not online"]);
});

test("control client - logs -f prints each streamed line and ends when the daemon closes the connection", async (t) => {
  let follower: { notify(method: string, params: unknown): void; close(): void } | null = null;
  const { socket } = await serve(t, {
    "logs.tail": (_params, conn) => {
      follower = conn;
      return { lines: ["old line"], truncated: false };
    },
  });
  // Each step once tsctl has printed the one before.
  const { code, out } = await tsctl(["--socket", socket, "logs", "-f", "-n", "1"], (text) => {
    if (text === "old line") {
      follower!.notify("logs.line", { line: "new line" });
      // A line the daemon sends with a control character is shown escaped, never raw.
      follower!.notify("logs.line", { line: "bell\u0007" });
    }
    if (text.startsWith("bell")) follower!.close();
  });
  t.is(code, 0);
  t.deepEqual(out, ["old line", "new line", "bell\\u0007"]);
});

test("control client - the daemon closing the connection mid-call fails the call with a message naming the socket", async (t) => {
  const { socket } = await serve(t, {
    stop: (_params, conn) => {
      conn.close();
      return { stopping: true };
    },
  });
  const c = await client(t, socket);
  const error = await t.throwsAsync(c.call("stop"), { instanceOf: Error });
  t.true(error!.message.includes(`the daemon closed the control connection (${socket})`), error!.message);
  await c.closed();
});

test("control client - no answer within the timeout fails the call with a message naming the socket; later calls still work", async (t) => {
  // Answered only when the test ends: until then the connection that asked waits.
  const late = Promise.withResolvers<{ reopened: true }>();
  t.teardown(() => late.resolve({ reopened: true }));
  const { socket } = await serve(t, {
    "logs.reopen": () => late.promise,
    status: () => STATUS,
  });
  const c = await client(t, socket, 200);
  const error = await t.throwsAsync(c.call("logs.reopen"), { instanceOf: CommandTimedOut });
  t.is(error!.message, `timed out: no answer from ${socket} within 200ms`);
  t.is(error!.exitCode, ExitCode.daemonError);
  // The server answers one request at a time, in order: the next waits behind the stuck one.
  const other = await client(t, socket);
  t.deepEqual(await other.call("status"), STATUS, "another connection is not held up");
});

test("control client - nothing at a socket: DaemonNotRunning names every path tried; connectFirst takes the first that answers", async (t) => {
  const { socket } = await serve(t, { status: () => STATUS });
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const missing = [path.join(dir, "a.sock"), path.join(dir, "b.sock")];
  const error = await t.throwsAsync(ControlClient.connectFirst(missing, 5000), {
    instanceOf: DaemonNotRunning,
  });
  t.is(error!.exitCode, ExitCode.notRunning);
  t.true(error!.message.includes(`nothing answers at ${missing[0]}, nor at ${missing[1]}`), error!.message);
  const fallbacks: string[] = [];
  const c = await ControlClient.connectFirst([missing[0]!, socket], 5000, (from, to) =>
    fallbacks.push(`${from} -> ${to}`),
  );
  t.teardown(() => c.close());
  t.is(c.path, socket);
  t.deepEqual(fallbacks, [`${missing[0]} -> ${socket}`]);
  t.deepEqual(await c.call("status"), STATUS);
  const cli = await tsctl(["--socket", missing[0]!, "status"]);
  t.is(cli.code, ExitCode.notRunning);
  t.regex(cli.err.join("\n"), /^tsctl: tsd is not running: nothing answers at /);
});

test("control client - many calls at once on one connection each get their own answer", async (t) => {
  const { socket } = await serve(t, {
    "chat.announce": async (params) => {
      const { text } = params as { text: string };
      // Answers ready in another order than asked: the server still answers in order, by id.
      await new Promise((resolve) => setImmediate(resolve));
      return { delivered: Number(text) };
    },
  });
  const c = await client(t, socket);
  const answers = await Promise.all(
    Array.from({ length: 200 }, (_, i) => c.call("chat.announce", { text: String(i) })),
  );
  t.deepEqual(
    answers.map((a) => a.delivered),
    Array.from({ length: 200 }, (_, i) => i),
  );
});

test("control client - an answer over the bound arrives as an error that says so, and the connection goes on", async (t) => {
  const { socket } = await serve(t, {
    "logs.tail": () => ({ lines: ["x".repeat(MAX_ANSWER_BYTES)], truncated: false }),
    status: () => STATUS,
  });
  const c = await client(t, socket);
  const error = await t.throwsAsync(c.call("logs.tail", { lines: 1 }), { instanceOf: DaemonError });
  t.is(error!.code, RpcErrorCode.answerTooLarge);
  t.deepEqual(await c.call("status"), STATUS);
});

test("control client - a method that throws a plain error answers -32603 and is reported to the daemon's log", async (t) => {
  const { socket, errors } = await serve(t, {
    "identities.list": () => {
      throw new Error("disk on fire");
    },
  });
  const c = await client(t, socket);
  const error = await t.throwsAsync(c.call("identities.list"), { instanceOf: CtlError });
  t.is((error as DaemonError).code, RpcErrorCode.internal);
  t.regex(error!.message, /disk on fire/);
  t.true(errors.length > 0, "the server's onError heard of it");
});
