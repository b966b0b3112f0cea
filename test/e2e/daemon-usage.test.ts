/**
 * tsd-daemon at start, as an operator meets it: a port another program or another tsd holds
 * is refused (exit 1, one sentence naming the port), and bad usage is one line (exit 2) that
 * names the flag, the TSD_* variable or the config file, never the whole --help.
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import test from "ava";
import { ROOT, shape, spawnDaemon, startDaemon, tempDir } from "../helpers/daemon.ts";
import { callRpc } from "../helpers/rpc.ts";

/** Runs tsd-daemon to its exit: its code and what it printed. */
async function runToExit(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const daemon = spawnDaemon(args, { env });
  const outcome = await daemon.started;
  if (outcome.ready) {
    await daemon.cleanup();
    throw new Error(`the daemon started: ${outcome.line}`);
  }
  fs.rmSync(daemon.dir, { recursive: true, force: true });
  return { code: outcome.code, stdout: daemon.stdout(), stderr: daemon.stderr() };
}

async function listeningServer(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

test("daemon usage - a chat port held by another program: exit 1, one sentence naming the port", async (t) => {
  const { server, port } = await listeningServer();
  t.teardown(() => server.close());
  const run = await runToExit([...shape(1, 1), "--no-echo", "--chat-port", String(port)]);
  t.is(run.code, 1);
  const lines = run.stderr.trim().split("\n");
  t.is(lines.length, 1, run.stderr);
  t.regex(lines[0]!, new RegExp(`^tsd-daemon: port ${port} \\(chat\\) on 127\\.0\\.0\\.1 is already in use`));
  t.regex(lines[0]!, /--chat-port/);
});

test("daemon usage - an echo port held by another program is refused the same way", async (t) => {
  const { server, port } = await listeningServer();
  t.teardown(() => server.close());
  const run = await runToExit([...shape(1, 1), "--echo-port", String(port)]);
  t.is(run.code, 1);
  t.regex(run.stderr, new RegExp(`port ${port} \\(echo\\) .* already in use.*--echo-port`));
});

test("daemon usage - a second tsd on the first one's port (its own state dir and socket) is refused; the first keeps every connection", async (t) => {
  const first = await startDaemon([...shape(1, 2), "--no-echo"]);
  t.teardown(() => first.cleanup());
  const run = await runToExit([...shape(1, 2), "--no-echo", "--chat-port", String(first.chatPort)]);
  t.is(run.code, 1);
  t.regex(run.stderr, new RegExp(`port ${first.chatPort} \\(chat\\) on 127\\.0\\.0\\.1 is already in use`));
  // Every connection still reaches the first daemon: nobody joined its port's group.
  for (let i = 0; i < 8; i++) {
    const socket = net.connect(first.chatPort, "127.0.0.1");
    const greeting = await new Promise<string>((resolve, reject) => {
      socket.once("data", (d: Buffer) => resolve(d.toString()));
      socket.once("error", reject);
    });
    socket.destroy();
    t.truthy(greeting);
  }
  const status = await callRpc(first.socket, "status");
  t.falsy(status.error);
});

test("daemon usage - an unknown flag is one line naming it, with a hint to --help, exit 2", async (t) => {
  const run = await runToExit(["--chat-prot", "1"]);
  t.is(run.code, 2);
  const lines = run.stderr.trim().split("\n");
  t.is(lines.length, 1, run.stderr);
  t.regex(lines[0]!, /unknown option --chat-prot \(did you mean --chat-port\?\)/);
  t.regex(lines[0]!, /--help/);
  t.is(run.stdout, "", "not the help");
});

test("daemon usage - bad values name their flag, one line, exit 2", async (t) => {
  for (const [args, expected] of [
    [["--chat-port", "70000"], /--chat-port must be a port number 0-65535/],
    [["--log-level", "loud"], /--log-level must be one of error, warn, info, debug, not "loud"/],
    [["--max-line", "ten"], /--max-line must be an integer 16-/],
    // An empty value (an unset variable in `--flood-rate "$RATE"`) is no 0: flood control stays on unless asked.
    [["--flood-rate", ""], /--flood-rate must be an integer 0-/],
    [["--max-per-address", " "], /--max-per-address must be an integer 0-/],
    [["--metrics-port", ""], /--metrics-port must be a port number 0-65535/],
    // One port for two services: each connection would reach chat or echo by chance.
    [["--chat-port", "45998", "--echo-port", "45998"], /--chat-port and --echo-port are both 45998/],
    [["extra"], /unexpected argument "extra"/],
    // Cluster and node names go into Redis key names (braces would change the hash slot) and log lines.
    [["--hub", "redis", "--cluster", "a{b}"], /--cluster must be 1-64 letters, digits/],
    [["--hub", "redis", "--node-id", "web\nfake line"], /--node-id must be 1-64 letters, digits/],
  ] as const) {
    const run = await runToExit([...args]);
    t.is(run.code, 2, args.join(" "));
    t.is(run.stderr.trim().split("\n").length, 1, run.stderr);
    t.regex(run.stderr, expected);
  }
});

test("daemon usage - TSD_* variables: an unknown one and a bad value name the variable, exit 2", async (t) => {
  const unknown = await runToExit([], { ...process.env, TSD_CHAT_PROT: "1" });
  t.is(unknown.code, 2);
  t.regex(
    unknown.stderr,
    /unknown variable TSD_CHAT_PROT in the environment \(did you mean TSD_CHAT_PORT\?\)/,
  );
  t.is(unknown.stderr.trim().split("\n").length, 1);
  const bad = await runToExit([], { ...process.env, TSD_FLOOD_RATE: "fast" });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /TSD_FLOOD_RATE=fast: --flood-rate must be an integer/);
});

test("daemon usage - the config file: not found, not JSON (line and column), an unknown option, a bad value", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "tsd.json");

  const missing = await runToExit(["--config", file]);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /config file .*tsd\.json not found; .*--help/);

  fs.writeFileSync(file, '{\n  "flood-rate": 10,\n  "max-line" 4096\n}\n');
  const notJson = await runToExit(["--config", file]);
  t.is(notJson.code, 2);
  t.regex(notJson.stderr, /config file .*tsd\.json: not JSON at line 3, column 14/);
  t.is(notJson.stderr.trim().split("\n").length, 1, notJson.stderr);

  fs.writeFileSync(file, '{\n  "flood-rate": 10,\n  "chat-prot": 1\n}\n');
  const unknown = await runToExit(["--config", file]);
  t.is(unknown.code, 2);
  t.regex(
    unknown.stderr,
    /tsd\.json, line 3, column 3: "chat-prot" is not an option \(did you mean "chat-port"\?\)/,
  );

  fs.writeFileSync(file, '{"flood-rate": -3}');
  const bad = await runToExit(["--config", file]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /tsd\.json, line 1, column 2: --flood-rate must be an integer 0-/);
});

test("daemon usage - --version prints the version", async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
  const run = await runToExit(["--version"]);
  t.is(run.code, 0);
  t.is(run.stdout.trim(), pkg.version);
});
