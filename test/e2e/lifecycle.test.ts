import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { startDaemon, tempDir, tsctl } from "../helpers/daemon.ts";
import { connect } from "../helpers/sockets.ts";

test("lifecycle - tsctl stop ends the daemon with exit code 0 and removes its socket", async (t) => {
  const daemon = await startDaemon(["--no-chat", "--workers", "1", "--threads", "1"]);
  t.teardown(() => daemon.cleanup());
  const result = await daemon.tsctl(["stop"]);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(await daemon.exited, { code: 0, signal: null });
  t.false(fs.existsSync(daemon.socket));
  t.regex(daemon.stdout(), /stopped/);
});

test("lifecycle - SIGTERM stops gracefully with exit code 0, closing open sessions", async (t) => {
  const daemon = await startDaemon(["--no-chat", "--workers", "1", "--threads", "2"]);
  t.teardown(() => daemon.cleanup());
  const client = await connect(daemon.echoPort);
  const closed = new Promise((resolve) => client.once("close", resolve));
  client.on("error", () => {});
  daemon.proc.kill("SIGTERM");
  t.deepEqual(await daemon.exited, { code: 0, signal: null });
  await closed;
  t.true(client.destroyed);
});

test("lifecycle - tsctl status with no daemon exits 3 and names the socket path", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const socket = path.join(dir, "nothing-here.sock");
  const result = await tsctl(["--socket", socket, "status"]);
  t.is(result.code, 3);
  t.true(result.stderr.includes(socket), result.stderr);
  t.regex(result.stderr, /not running/);
  t.is(result.stdout, "");
});

test("lifecycle - a stale socket file left by a crash is replaced", async (t) => {
  const first = await startDaemon(["--no-chat", "--workers", "1", "--threads", "1"]);
  first.proc.kill("SIGKILL");
  await first.exited;
  t.true(fs.existsSync(first.socket), "the crash leaves the socket file behind");
  const second = await startDaemon(["--no-chat", "--workers", "1", "--threads", "1"], { dir: first.dir });
  t.teardown(() => second.cleanup());
  const result = await second.tsctl(["status", "--json"]);
  t.is(result.code, 0, result.stderr);
  t.is(JSON.parse(result.stdout).pid, second.proc.pid);
});

test("lifecycle - a second daemon on the same socket is refused and the first keeps running", async (t) => {
  const first = await startDaemon(["--no-chat", "--workers", "1", "--threads", "1"]);
  t.teardown(() => first.cleanup());
  const second = await startDaemon(["--no-chat", "--workers", "1", "--threads", "1"], {
    dir: first.dir,
  }).then(
    () => null,
    (error: Error) => error,
  );
  t.truthy(second);
  t.regex(second!.message, /exited with 1/);
  t.regex(second!.message, /already running/);
  const result = await first.tsctl(["status", "--json"]);
  t.is(result.code, 0);
  t.is(JSON.parse(result.stdout).pid, first.proc.pid);
});

test("lifecycle - the socket is 0600 in a 0700 directory", async (t) => {
  const daemon = await startDaemon(["--no-chat", "--workers", "1", "--threads", "1"]);
  t.teardown(() => daemon.cleanup());
  t.is(fs.statSync(daemon.socket).mode & 0o777, 0o600);
  t.is(fs.statSync(path.dirname(daemon.socket)).mode & 0o777, 0o700);
});
