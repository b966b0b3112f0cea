import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import test from "ava";
import type { StatusResult } from "../../protocol/rpc.ts";
import { ChatClient } from "../helpers/chat-client.ts";
import { ROOT, shape, spawnDaemon, startDaemon, waitFor } from "../helpers/daemon.ts";
import { Pty } from "../helpers/pty.ts";
import { callRpc } from "../helpers/rpc.ts";
import { connectOutcome } from "../helpers/sockets.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

const d = useDaemon(test, [...shape(2, 1), "--max-per-address", "0"]);

async function json<T>(args: string[]): Promise<T> {
  const result = await d.daemon.tsctl([...args, "--json"]);
  if (result.code !== 0) throw new Error(`tsctl ${args.join(" ")}: ${result.code} ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

const signedIn = (name: string) => d.user(name);

test.serial("tsctl - status: human summary and the --json object of control.md", async (t) => {
  const human = await d.daemon.tsctl(["status"]);
  t.is(human.code, 0);
  t.regex(human.stdout, /^tsd \d+\.\d+\.\d+, pid \d+, up /);
  t.regex(human.stdout, /chat\s+127\.0\.0\.1:\d+\s+listening/);
  const s = await json<StatusResult>(["status"]);
  t.deepEqual(Object.keys(s).sort(), [
    "listeners",
    "paused",
    "pid",
    "sessions",
    "startedAt",
    "uptimeSeconds",
    "usersOnline",
    "version",
    "workers",
  ]);
  t.is(s.listeners.find((l) => l.service === "chat")!.port, d.daemon.chatPort);
  t.true(s.workers.every((w) => typeof w.threads === "number" && typeof w.sessions === "number"));
});

test.serial("tsctl - who, kick and announce, as users see them", async (t) => {
  const a = await signedIn("wanda");
  const b = await signedIn("xavier");
  await a.announced("xavier", "joined");
  const who = await d.daemon.tsctl(["who"]);
  t.is(who.code, 0);
  t.regex(who.stdout, /^NAME\s+ADDRESS\s+SINCE\s+WORKER\s+THREAD/);
  t.regex(who.stdout, /wanda\s+127\.0\.0\.1/);
  const users = await json<{ name: string; worker: number; thread: number }[]>(["who"]);
  const workerIds = (await json<StatusResult>(["status"])).workers.map((w) => w.id);
  t.deepEqual(
    users.map((u) => u.name),
    ["wanda", "xavier"],
  );
  t.true(users.every((u) => workerIds.includes(u.worker) && u.thread === 1));

  const announced = await d.daemon.tsctl(["announce", "maintenance", "at", "noon"]);
  t.is(announced.code, 0);
  t.regex(announced.stdout, /announced to 2 users/);
  t.is(await a.line(/^\* server/), "* server: maintenance at noon");
  t.is(await b.line(/^\* server/), "* server: maintenance at noon");

  const kicked = await d.daemon.tsctl(["kick", "xavier", "be", "nice"]);
  t.is(kicked.code, 0, kicked.stderr);
  t.is(await b.line(/operator/), "* disconnected by the operator: be nice");
  await b.closedByServer();
  t.is(await a.line(/left/), "* xavier left");
  const again = await d.daemon.tsctl(["kick", "xavier"]);
  t.is(again.code, 1);
  t.regex(again.stderr, /xavier is not online/);
  t.deepEqual(await json(["kick", "wanda"]), { kicked: true });
  a.close();
});

test.serial("tsctl - identities list never shows a hash; wipe needs --yes without a terminal", async (t) => {
  await (await signedIn("yara")).close();
  const list = await json<Record<string, unknown>[]>(["identities", "list"]);
  t.true(list.some((i) => i.name === "yara"));
  t.deepEqual(Object.keys(list[0]!).sort(), ["createdAt", "lastAddress", "lastLoginAt", "name"]);
  const human = await d.daemon.tsctl(["identities", "list"]);
  t.regex(human.stdout, /^NAME\s+CREATED/);
  t.false(/scrypt|hash|salt/.test(human.stdout));
  const refused = await d.daemon.tsctl(["identities", "wipe"]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /--yes/);
  const wiped = await json<{ removed: number }>(["identities", "wipe", "--yes"]);
  t.is(wiped.removed, list.length);
  t.deepEqual(await json(["identities", "list"]), []);
  const file = JSON.parse(fs.readFileSync(path.join(d.daemon.stateDir, "identities.json"), "utf8"));
  t.deepEqual(file.users, {});
});

test.serial(
  "tsctl - pause refuses new connections on both ports; open sessions chat on; resume restores",
  async (t) => {
    const a = await signedIn("zoe");
    const b = await signedIn("adam");
    const echoPort = (await json<StatusResult>(["status"])).listeners.find((l) => l.service === "echo")!.port;
    t.deepEqual(await json(["pause"]), { paused: true, changed: true });
    t.deepEqual(await json(["pause"]), { paused: true, changed: false });
    await waitFor(
      async () => (await connectOutcome(d.daemon.chatPort)) === "ECONNREFUSED",
      15_000,
      "chat refused",
    );
    t.is(await connectOutcome(echoPort), "ECONNREFUSED");
    const s = await json<StatusResult>(["status"]);
    t.true(s.paused);
    t.true(s.listeners.every((l) => !l.listening));
    t.regex((await d.daemon.tsctl(["status"])).stdout, /PAUSED/);
    a.send("still talking");
    t.is(await b.line(/^</), "<zoe> still talking");

    // A worker killed while paused comes back without listening.
    const victim = s.workers[0]!;
    process.kill(victim.pid, "SIGKILL");
    await d.until(
      (now) =>
        now.workers.length === 2 &&
        !now.workers.some((w) => w.pid === victim.pid) &&
        now.workers.every((w) => w.threads === 1),
      "the replacement worker",
    );
    t.is(await connectOutcome(d.daemon.chatPort), "ECONNREFUSED");
    t.is(await connectOutcome(echoPort), "ECONNREFUSED");

    t.deepEqual(await json(["resume"]), { paused: false, changed: true });
    t.deepEqual(await json(["resume"]), { paused: false, changed: false });
    await waitFor(async () => (await connectOutcome(d.daemon.chatPort)) === "connected", 15_000, "chat back");
    t.is(await connectOutcome(echoPort), "connected");
    t.true((await json<StatusResult>(["status"])).listeners.every((l) => l.listening));
    a.close();
    b.close();
  },
);

/** Another program on the port while tsd is paused: with reusePort it is what netcat-openbsd's `nc -l` does. */
async function squatter(
  port: number,
  reusePort: boolean,
): Promise<{ server: net.Server; accepted: () => number }> {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    socket.end("squatter\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port, reusePort }, resolve);
  });
  return { server, accepted: () => accepted };
}

/** What the first bytes on a new connection to port are: the daemon's greeting or the squatter's line. */
function firstWords(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let text = "";
    const done = (what: string) => {
      socket.destroy();
      resolve(what);
    };
    socket.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) done(text.startsWith("squatter") ? "squatter" : "tsd");
    });
    socket.on("error", (error: NodeJS.ErrnoException) => done(error.code ?? "error"));
    socket.on("close", () => done(text === "" ? "closed" : text));
  });
}

test.serial(
  "tsctl - resume with a port taken while paused (also by a program that shares ports with SO_REUSEPORT) stays paused and says which port; freed, resume opens it",
  async (t) => {
    t.deepEqual(await json(["pause"]), { paused: true, changed: true });
    await waitFor(
      async () => (await connectOutcome(d.daemon.chatPort)) === "ECONNREFUSED",
      15_000,
      "chat refused",
    );
    for (const reusePort of [true, false]) {
      const other = await squatter(d.daemon.chatPort, reusePort);
      const refused = await d.daemon.tsctl(["resume"]);
      t.is(refused.code, 1, refused.stderr);
      t.regex(
        refused.stderr,
        new RegExp(
          `not resumed: port ${d.daemon.chatPort} \\(chat\\) on 127\\.0\\.0\\.1 was taken by another program or another tsd-daemon while paused; still paused .*--chat-port`,
        ),
      );
      t.notRegex(refused.stderr, /\n./, "one sentence");
      const asJson = await d.daemon.tsctl(["resume", "--json"]);
      t.is(JSON.parse(asJson.stderr).error.code, -32010);
      const s = await json<StatusResult>(["status"]);
      t.true(s.paused, "still paused");
      t.true(s.listeners.every((l) => !l.listening));
      // Every connection reaches the other program: tsd did not join its port.
      for (let i = 0; i < 20; i++) t.is(await firstWords(d.daemon.chatPort), "squatter");
      t.is(other.accepted(), 20);
      await new Promise((resolve) => other.server.close(resolve));
    }
    t.deepEqual(await json(["resume"]), { paused: false, changed: true });
    await waitFor(async () => (await firstWords(d.daemon.chatPort)) === "tsd", 15_000, "chat back");
    t.true((await json<StatusResult>(["status"])).listeners.every((l) => l.listening));
  },
);

/** Sends requests as one JSON-RPC batch (run in order, control.md) and resolves with their results (or errors) in order. */
function batch(
  methods: (string | { method: string; params: unknown })[],
  socketPath = d.daemon.socket,
): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      text += chunk;
      if (!text.includes("\n")) return;
      socket.destroy();
      const answers = JSON.parse(text) as { id: number; result?: unknown; error?: unknown }[];
      resolve(answers.sort((a, b) => a.id - b.id).map((a) => a.result ?? a.error));
    });
    socket.on("error", reject);
    const requests = methods.map((m, id) =>
      typeof m === "string" ? { jsonrpc: "2.0", id, method: m } : { jsonrpc: "2.0", id, ...m },
    );
    socket.write(`${JSON.stringify(requests)}\n`);
  });
}

test.serial(
  "tsctl - pause and resume in one batch: the daemon's own listeners, still closing, are not taken for another program's",
  async (t) => {
    for (let round = 0; round < 5; round++) {
      t.deepEqual(await batch(["pause", "resume"]), [
        { paused: true, changed: true },
        { paused: false, changed: true },
      ]);
      await waitFor(async () => (await firstWords(d.daemon.chatPort)) === "tsd", 15_000, "chat back");
    }
  },
);

test.serial(
  "tsctl - resume then pause in one batch: paused, the port is refused (nothing accepts and closes it), and a later resume opens it",
  async (t) => {
    t.deepEqual(await json(["pause"]), { paused: true, changed: true });
    for (let round = 0; round < 3; round++) {
      t.deepEqual(await batch(["resume", "pause"]), [
        { paused: false, changed: true },
        { paused: true, changed: true },
      ]);
      await waitFor(
        async () => (await connectOutcome(d.daemon.chatPort)) === "ECONNREFUSED",
        15_000,
        "chat refused while paused",
      );
    }
    const resumed = await d.daemon.tsctl(["resume"]);
    t.is(resumed.code, 0, resumed.stderr);
    await waitFor(async () => (await firstWords(d.daemon.chatPort)) === "tsd", 15_000, "chat back");
  },
);

test.serial(
  "tsctl - logs -f shows a new event as it is logged, and keeps following across a clear",
  async (t) => {
    const child = spawn(process.execPath, [
      path.join(ROOT, "bin", "tsctl.js"),
      "--socket",
      d.daemon.socket,
      "logs",
      "-f",
      "-n",
      "1",
    ]);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await waitFor(() => output.length > 0, 15_000, "the follower's first line");
    const marker = `marker-${Date.now()}`;
    await d.daemon.tsctl(["announce", marker]);
    await waitFor(() => output.includes(marker), 15_000, "the event in logs -f");
    const cleared = await json<{ cleared: boolean; bytes: number }>(["logs", "clear"]);
    t.true(cleared.cleared && cleared.bytes > 0);
    const after = `after-clear-${Date.now()}`;
    await d.daemon.tsctl(["announce", after]);
    await waitFor(() => output.includes(after), 15_000, "the event after the clear");
    const tail = await d.daemon.tsctl(["logs", "-n", "5"]);
    t.regex(tail.stdout, new RegExp(after));
    t.false(tail.stdout.includes(marker), "the clear emptied the file");
    child.kill("SIGINT");
    t.is(await exited, 0);
    t.deepEqual(await json(["logs", "reopen"]), { reopened: true });
  },
);

test.serial(
  "tsctl - the shell reads commands from a pipe; its exit code is the first failure's",
  async (t) => {
    const result = await d.daemon.tsctl([], { input: "status --json\nwho\nbogus\nhelp\n" });
    t.is(result.code, 2, "bogus is bad usage");
    t.is(JSON.parse(result.stdout.slice(0, result.stdout.indexOf("\n}") + 2)).pid, d.daemon.proc.pid);
    t.regex(result.stdout, /nobody online|NAME/);
    t.regex(result.stdout, /announce/);
    t.regex(result.stderr, /unknown command "bogus"/);
  },
);

test.serial("tsctl - the shell in a terminal: prompt, tab completion, help, exit", async (t) => {
  // Its history in the test's own directory, not the user's.
  const pty = new Pty([process.execPath, path.join(ROOT, "bin", "tsctl.js"), "--socket", d.daemon.socket], {
    ...process.env,
    XDG_STATE_HOME: d.daemon.dir,
  });
  await pty.waitFor("tsd> ");
  pty.type("sta\t");
  await pty.waitFor("status");
  pty.type("\r");
  await pty.waitFor(/tsd \d+\.\d+\.\d+, pid/);
  pty.type("help\r");
  await pty.waitFor("leave the shell");
  pty.type("exit\r");
  t.is(await pty.exited, 0);
});

test.serial("tsd-daemon --console: the same commands on the daemon's terminal", async (t) => {
  const dir = fs.mkdtempSync(path.join(d.daemon.dir, "console-"));
  const pty = new Pty(
    [
      process.execPath,
      path.join(ROOT, "bin", "tsd-daemon.js"),
      "--console",
      "--workers",
      "1",
      "--chat-port",
      "0",
      "--echo-port",
      "0",
      "--socket",
      path.join(dir, "c.sock"),
      "--state-dir",
      dir,
      "--log-level",
      "warn",
    ],
    { ...process.env, XDG_STATE_HOME: dir },
  );
  t.teardown(() => pty.kill());
  await pty.waitFor("tsd-daemon ready");
  await pty.waitFor("tsd> ");
  pty.type("who\r");
  await pty.waitFor("nobody online");
  pty.type("stop --grace 0s\r");
  t.is(await pty.exited, 0);
  t.regex(pty.text, /stopping/);
});

test.serial(
  "tsctl - --socket-group makes the directory 0750 and the socket 0660 of that group",
  async (t) => {
    const group = "daemon";
    const gid = Number(execFileSync("getent", ["group", group], { encoding: "utf8" }).split(":")[2]);
    const grouped = await startDaemon(["--workers", "1", "--no-chat", "--socket-group", group]);
    t.teardown(() => grouped.cleanup());
    const sock = fs.statSync(grouped.socket);
    const dir = fs.statSync(path.dirname(grouped.socket));
    t.is(sock.mode & 0o777, 0o660);
    t.is(dir.mode & 0o777, 0o750);
    t.is(sock.gid, gid);
    t.is(dir.gid, gid);
  },
);

test.serial("tsctl - bad usage exits 2, an unknown socket 3 with its path", async (t) => {
  const usage = await d.daemon.tsctl(["frobnicate"]);
  t.is(usage.code, 2);
  const grace = await d.daemon.tsctl(["stop", "--grace", "soon"]);
  t.is(grace.code, 2);
  t.regex(grace.stderr, /--grace/);
  const missing = await d.daemon.tsctl(["--socket", path.join(d.daemon.dir, "none.sock"), "status"]);
  t.is(missing.code, 3);
  t.true(missing.stderr.includes(path.join(d.daemon.dir, "none.sock")));
});

test("tsctl - a pause sent while the daemon starts: it starts paused, and resume opens the listeners and makes it ready", async (t) => {
  const daemon = spawnDaemon([...shape(1, 2), "--chat-port", "0", "--echo-port", "0"]);
  t.teardown(() => daemon.cleanup());
  const paused = await waitFor(
    () => callRpc(daemon.socket, "pause").catch(() => null),
    30_000,
    "the control socket to answer pause",
  );
  t.deepEqual(paused.result, { paused: true, changed: true });
  const resumed = await waitFor(
    async () => {
      const answer = await callRpc(daemon.socket, "resume");
      return answer.result ?? null;
    },
    30_000,
    "resume to be answered",
  );
  t.deepEqual(resumed, { paused: false, changed: true });
  const outcome = await daemon.started;
  t.true(outcome.ready, daemon.stderr());
});

test("tsctl - resume during a stop's grace is refused and the listeners stay closed", async (t) => {
  const daemon = await startDaemon([...shape(1, 1), "--no-echo", "--max-per-address", "0"]);
  t.teardown(() => daemon.cleanup());
  const lingering = await ChatClient.connect(daemon.chatPort);
  t.teardown(() => lingering.close());
  await lingering.loginPrompt();
  t.deepEqual((await callRpc(daemon.socket, "pause")).result, { paused: true, changed: true });
  await waitFor(
    async () => (await connectOutcome(daemon.chatPort)) === "ECONNREFUSED",
    15_000,
    "chat refused while paused",
  );
  const stopping = await callRpc(daemon.socket, "stop", { graceMs: 20_000 });
  t.deepEqual(stopping.result, { stopping: true });
  const resumed = await callRpc(daemon.socket, "resume");
  t.regex(resumed.error?.message ?? "", /not resumed: the daemon is stopping/);
  t.is(await connectOutcome(daemon.chatPort), "ECONNREFUSED");
});
