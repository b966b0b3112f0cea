/**
 * The default socket directory ($XDG_RUNTIME_DIR/tsd here, /tmp/tsd-<uid> without it) is
 * made or accepted without following links (issue 10, item 5). Before, a symlink another
 * local user planted at that path was followed: the daemon chmod-ed the link's target to
 * 0700 and put its control and hub sockets in it. Each test points XDG_RUNTIME_DIR at a
 * temporary directory, so the machine's own runtime directories are never touched.
 */
import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { type SpawnedDaemon, shape, spawnDaemon, tempDir, tsctl } from "../helpers/daemon.ts";

/** The environment of a daemon that finds its socket by the default rules under runtimeDir. */
function defaultSocketEnv(runtimeDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: runtimeDir };
  delete env.TSD_SOCKET;
  delete env.RUNTIME_DIRECTORY;
  return env;
}

interface Outcome {
  proc: SpawnedDaemon["proc"];
  ready: boolean;
  code: number | null;
  stderr: string;
}

/** Starts tsd-daemon without --socket; resolves at its ready line or at its exit, whichever comes first. */
async function startWithDefaultSocket(dir: string, env: NodeJS.ProcessEnv): Promise<Outcome> {
  const daemon = spawnDaemon([...shape(1, 1), "--no-echo"], { dir, env, socket: null });
  const outcome = await daemon.started;
  return {
    proc: daemon.proc,
    ready: outcome.ready,
    code: outcome.ready ? null : outcome.code,
    stderr: daemon.stderr(),
  };
}

async function stopDaemon(outcome: Outcome): Promise<void> {
  if (!outcome.ready || outcome.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => outcome.proc.once("exit", resolve));
  outcome.proc.kill("SIGTERM");
  await exited;
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;

test("socket directory - a symlink planted at the default path is refused, and its target keeps its mode", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runtime = path.join(dir, "xdg");
  const victim = path.join(dir, "victim");
  fs.mkdirSync(runtime);
  fs.mkdirSync(victim);
  fs.chmodSync(victim, 0o755);
  fs.symlinkSync(victim, path.join(runtime, "tsd"));

  const outcome = await startWithDefaultSocket(dir, defaultSocketEnv(runtime));
  t.teardown(() => stopDaemon(outcome));
  t.false(outcome.ready, "the daemon did not start");
  t.is(outcome.code, 1);
  t.regex(outcome.stderr, new RegExp(`${path.join(runtime, "tsd")} is a symbolic link; refusing to use it`));
  t.is(mode(victim), 0o755, "the link's target was not chmod-ed");
  t.deepEqual(fs.readdirSync(victim), [], "no socket was put in it");
});

test("socket directory - a file at the default path is refused with a message naming it", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runtime = path.join(dir, "xdg");
  fs.mkdirSync(runtime);
  fs.writeFileSync(path.join(runtime, "tsd"), "");
  const outcome = await startWithDefaultSocket(dir, defaultSocketEnv(runtime));
  t.teardown(() => stopDaemon(outcome));
  t.is(outcome.code, 1);
  t.regex(outcome.stderr, new RegExp(`${path.join(runtime, "tsd")} is not a directory`));
});

const asRoot = process.getuid?.() === 0;
(asRoot ? test : test.skip)(
  `socket directory - another user's directory at the default path is refused and left as it is${asRoot ? "" : " (skipped: making a directory of another user needs root)"}`,
  async (t) => {
    const dir = tempDir();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const runtime = path.join(dir, "xdg");
    const theirs = path.join(runtime, "tsd");
    fs.mkdirSync(theirs, { recursive: true });
    fs.chmodSync(theirs, 0o755);
    fs.chownSync(theirs, 65534, 65534);
    const outcome = await startWithDefaultSocket(dir, defaultSocketEnv(runtime));
    t.teardown(() => stopDaemon(outcome));
    t.is(outcome.code, 1);
    t.regex(outcome.stderr, new RegExp(`${theirs} belongs to another user \\(uid 65534\\)`));
    t.is(mode(theirs), 0o755);
    t.is(fs.statSync(theirs).uid, 65534);
  },
);

test("socket directory - made 0700 when missing, set to 0700 when ours; tsctl finds the socket by the same rules", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const runtime = path.join(dir, "xdg");
  fs.mkdirSync(runtime);
  const env = defaultSocketEnv(runtime);
  const own = path.join(runtime, "tsd");

  const first = await startWithDefaultSocket(dir, env);
  t.teardown(() => stopDaemon(first));
  t.true(first.ready, first.stderr);
  t.is(mode(own), 0o700);
  t.is(mode(path.join(own, "control.sock")), 0o600);
  t.is(mode(path.join(own, "control.sock.hub")), 0o600);
  const status = await tsctl(["status", "--json"], { env });
  t.is(status.code, 0, status.stderr);
  t.is(JSON.parse(status.stdout).pid, first.proc.pid);
  await stopDaemon(first);

  fs.chmodSync(own, 0o755);
  const second = await startWithDefaultSocket(dir, env);
  t.teardown(() => stopDaemon(second));
  t.true(second.ready, second.stderr);
  t.is(mode(own), 0o700);
});
