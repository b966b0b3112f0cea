import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { SERVICE_SOCKET } from "../../ctl/socket-candidates.ts";
import { startDaemon, tempDir, tsctl } from "../helpers/daemon.ts";

// An operator's shell (sudo, runuser, a non-login shell) has none of the service's environment:
// control.md's rules then point tsctl at a per-user socket while the systemd service listens on
// /run/tsd/control.sock. These tests put a real daemon there, so they need root and a machine
// where no tsd service runs.

const SERVICE_DIR = path.dirname(SERVICE_SOCKET);
const serviceHere = fs.existsSync(SERVICE_DIR);
const noServiceSocket =
  process.platform === "win32"
    ? "no /run on Windows"
    : process.getuid?.() !== 0
      ? `creating ${SERVICE_DIR} needs root`
      : serviceHere
        ? `${SERVICE_DIR} exists: a tsd service may run on this machine`
        : null;
if (noServiceSocket) console.warn(`service socket: skipped: ${noServiceSocket}`);
const rootTest = noServiceSocket ? test.serial.skip : test.serial;
const noDaemonTest = serviceHere || process.platform === "win32" ? test.serial.skip : test.serial;

/** An operator's environment: no TSD_SOCKET, no RUNTIME_DIRECTORY, a runtime directory of its own. */
function operatorEnv(runtimeDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: runtimeDir };
  delete env.TSD_SOCKET;
  delete env.RUNTIME_DIRECTORY;
  return env;
}

rootTest(
  "service socket - tsctl with no socket of its own reaches the daemon at /run/tsd/control.sock",
  async (t) => {
    const daemon = await startDaemon([
      "--no-chat",
      "--workers",
      "1",
      "--threads",
      "1",
      "--socket",
      SERVICE_SOCKET,
    ]);
    t.teardown(async () => {
      await daemon.cleanup();
      fs.rmSync(SERVICE_DIR, { recursive: true, force: true });
    });
    const home = tempDir();
    t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
    const own = path.join(home, "tsd", "control.sock");

    const status = await tsctl(["status", "--json"], { env: operatorEnv(home) });
    t.is(status.code, 0, status.stderr);
    t.is(JSON.parse(status.stdout).pid, daemon.proc.pid);
    t.is(status.stderr, "", "the fallback is silent without --verbose");

    const verbose = await tsctl(["--verbose", "status"], { env: operatorEnv(home) });
    t.is(verbose.code, 0, verbose.stderr);
    t.true(verbose.stderr.includes(`nothing answers at ${own}`), verbose.stderr);
    t.true(verbose.stderr.includes(`using ${SERVICE_SOCKET}`), verbose.stderr);

    const named = await tsctl(["--socket", own, "status"], { env: operatorEnv(home) });
    t.is(named.code, 3, "a socket the operator names is the only one tried");
    t.false(named.stderr.includes(SERVICE_SOCKET), named.stderr);
  },
);

noDaemonTest("service socket - with nothing running, tsctl exits 3 naming every path it tried", async (t) => {
  const home = tempDir();
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const result = await tsctl(["status"], { env: operatorEnv(home) });
  t.is(result.code, 3, result.stderr);
  t.regex(result.stderr, /not running/);
  t.true(result.stderr.includes(path.join(home, "tsd", "control.sock")), result.stderr);
  t.true(result.stderr.includes(SERVICE_SOCKET), result.stderr);
  t.is(result.stdout, "");
});
