/**
 * Every command of control.md's tsctl block, run through tsctl's own runCli against a control
 * server in this process (createControlServer on a real socket, methods of the test's own in
 * the daemon's shapes): the method and params each sends, its human line and its --json.
 */
import fs from "node:fs";
import type net from "node:net";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { JSONRPCErrorException } from "json-rpc-2.0";
import { type CtlSession, runCli } from "../../ctl/cli.ts";
import { ExitCode } from "../../ctl/errors.ts";
import { type ControlMethod, createControlServer } from "../../daemon/primary/control/control-server.ts";
import { type ControlResults, RpcErrorCode } from "../../protocol/rpc.ts";
import { tempDir } from "../helpers/daemon.ts";

interface Call {
  method: string;
  params: unknown;
}

const ANSWERS: Partial<{ [M in keyof ControlResults]: (params: unknown) => ControlResults[M] }> = {
  "bans.add": () => ({ banned: true, disconnected: 2 }),
  "bans.list": () => [
    { target: "10.0.0.0/8", reason: "spam", createdAt: "2026-01-01T00:00:00.000Z", until: null },
    {
      target: "mallory",
      reason: null,
      createdAt: "2026-01-01T00:00:00.000Z",
      until: "2026-01-02T00:00:00.000Z",
    },
  ],
  "bans.remove": () => ({ removed: true }),
  "users.mute": () => ({ muted: true, until: "2026-01-01T00:10:00.000Z" }),
  "users.unmute": () => ({ muted: false }),
  "identities.remove": () => ({ removed: true }),
  "identities.reset": (params) => ({ name: (params as { name: string }).name, oneTimePassword: "Xy7-otp" }),
  "config.get": (params) => {
    const all = { "flood-rate": 5, "log-level": "info", "reserved-names": ["admin", "root"] };
    const key = (params as { key?: string } | undefined)?.key;
    return key ? { [key]: all[key as keyof typeof all] } : all;
  },
  "config.set": (params) => ({ ...(params as { key: string; value: number }), previous: 5 }),
  reload: () => ({ reloaded: ["config", "log", "motd"] }),
};

/** A control server answering ANSWERS, recording each call; closed when the test ends. */
async function serve(t: ExecutionContext): Promise<{ socket: string; calls: Call[] }> {
  const dir = tempDir();
  const socket = path.join(dir, "control.sock");
  const calls: Call[] = [];
  const methods: Record<string, ControlMethod> = {};
  for (const [method, answer] of Object.entries(ANSWERS)) {
    methods[method] = (params) => {
      calls.push({ method, params });
      if (method === "bans.remove" && (params as { target: string }).target === "nobody")
        throw new JSONRPCErrorException("nobody is not banned", RpcErrorCode.notBanned);
      return answer(params);
    };
  }
  const server: net.Server = createControlServer(methods, () => {});
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { socket, calls };
}

async function tsctl(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const session: CtlSession = {};
  const code = await runCli(
    argv,
    {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
      interactive: false,
      confirm: async () => false,
      interrupted: () => new Promise<void>(() => {}),
    },
    session,
  );
  (await session.client?.catch(() => null))?.close();
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const CASES: { argv: string[]; call: Call; human: RegExp }[] = [
  {
    argv: ["ban", "10.0.0.0/8", "spam", "bots", "--for", "1h"],
    call: { method: "bans.add", params: { target: "10.0.0.0/8", reason: "spam bots", forSeconds: 3600 } },
    human: /^banned 10\.0\.0\.0\/8 for 1h; disconnected 2 sessions$/,
  },
  {
    argv: ["ban", "mallory"],
    call: { method: "bans.add", params: { target: "mallory" } },
    human: /^banned mallory until unbanned/,
  },
  {
    argv: ["unban", "mallory"],
    call: { method: "bans.remove", params: { target: "mallory" } },
    human: /^unbanned mallory$/,
  },
  {
    argv: ["bans"],
    call: { method: "bans.list", params: undefined },
    human:
      /^TARGET\s+UNTIL\s+CREATED\s+REASON\n10\.0\.0\.0\/8\s+permanent\s+\S+\s+spam\nmallory\s+2026-01-02/,
  },
  {
    argv: ["mute", "bob", "--for", "10m"],
    call: { method: "users.mute", params: { name: "bob", forSeconds: 600 } },
    human: /^muted bob until 2026-01-01T00:10:00\.000Z$/,
  },
  {
    argv: ["unmute", "bob"],
    call: { method: "users.unmute", params: { name: "bob" } },
    human: /^unmuted bob$/,
  },
  {
    argv: ["identities", "remove", "bob", "--yes"],
    call: { method: "identities.remove", params: { name: "bob" } },
    human: /^removed bob$/,
  },
  {
    argv: ["identities", "reset", "bob"],
    call: { method: "identities.reset", params: { name: "bob" } },
    human: /^one-time password for bob: Xy7-otp$/,
  },
  {
    argv: ["config", "get"],
    call: { method: "config.get", params: {} },
    human: /^OPTION\s+VALUE\nflood-rate\s+5\nlog-level\s+info\nreserved-names\s+admin,root$/,
  },
  {
    argv: ["config", "get", "flood-rate"],
    call: { method: "config.get", params: { key: "flood-rate" } },
    human: /^5$/,
  },
  {
    argv: ["config", "set", "flood-rate", "10"],
    call: { method: "config.set", params: { key: "flood-rate", value: 10 } },
    human: /^flood-rate: 5 -> 10$/,
  },
  {
    argv: ["config", "set", "log-level", "debug"],
    call: { method: "config.set", params: { key: "log-level", value: "debug" } },
    human: /^log-level: 5 -> debug$/,
  },
  {
    argv: ["reload"],
    call: { method: "reload", params: undefined },
    human: /^reloaded: config, log, motd$/,
  },
];

for (const { argv, call, human } of CASES) {
  test(`tsctl commands - ${argv.join(" ")}: sends ${call.method}, prints a human line and --json`, async (t) => {
    const { socket, calls } = await serve(t);
    const plain = await tsctl(["--socket", socket, ...argv]);
    t.is(plain.code, ExitCode.ok, plain.err);
    t.regex(plain.out, human);
    const json = await tsctl(["--socket", socket, ...argv, "--json"]);
    t.is(json.code, ExitCode.ok, json.err);
    // JSON drops the undefined params, as the wire does.
    t.deepEqual(JSON.parse(JSON.stringify(calls)), JSON.parse(JSON.stringify([call, call])));
    t.deepEqual(JSON.parse(json.out), ANSWERS[call.method as keyof ControlResults]!(call.params));
  });
}

test("tsctl commands - the daemon's error (unban of a target not banned) is one line and exit 1", async (t) => {
  const { socket } = await serve(t);
  const result = await tsctl(["--socket", socket, "unban", "nobody"]);
  t.is(result.code, ExitCode.daemonError);
  t.is(result.err, "tsctl: nobody is not banned");
});

test("tsctl commands - identities remove without --yes and without a terminal is bad usage and sends nothing", async (t) => {
  const { socket, calls } = await serve(t);
  const result = await tsctl(["--socket", socket, "identities", "remove", "bob"]);
  t.is(result.code, ExitCode.usage);
  t.regex(result.err, /--yes/);
  t.deepEqual(calls, []);
});

test("tsctl commands - a method this daemon does not have says which, exit 1", async (t) => {
  const { socket } = await serve(t);
  const result = await tsctl(["--socket", socket, "who"]);
  t.is(result.code, ExitCode.daemonError);
  t.regex(result.err, /users\.list/);
});
