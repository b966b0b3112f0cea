import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";

// npm pack (which builds dist/ on prepack), a global install of the tarball into a
// temporary prefix, and the installed bins at work. The installed package runs on the
// machine's `node`: the project's Node 24 is put first on PATH, as an operator would have
// a Node >= 22.12 (the machines here ship Node 20).

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN_PATH = path.join(ROOT, "node_modules", ".bin");

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

// npm's own settings are kept where they help (its cache, for an offline install), the rest of
// what `npm test` exports (npm_config_prefix, npm_lifecycle_*...) would steer the nested npm.
const KEEP_NPM = new Set(["npm_config_cache", "npm_config_registry", "npm_config_userconfig"]);

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      key.startsWith("TSD_") ||
      (key.startsWith("npm_") && !KEEP_NPM.has(key)) ||
      key === "RUNTIME_DIRECTORY"
    )
      continue;
    if (key === "STATE_DIRECTORY" || key === "LOGS_DIRECTORY" || key === "NOTIFY_SOCKET") continue;
    env[key] = value;
  }
  env.PATH = [BIN_PATH, path.dirname(process.execPath), process.env.PATH ?? ""].join(path.delimiter);
  return env;
}

function run(file: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: cleanEnv(), timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 << 20 },
      (error, stdout, stderr) => {
        const code = error ? ((error as NodeJS.ErrnoException).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function show(result: Run): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function waitForReady(proc: ChildProcess, output: () => string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in ${timeoutMs} ms\n${output()}`)), timeoutMs);
    const check = () => {
      const line = output()
        .split("\n")
        .find((l) => l.startsWith("tsd-daemon ready:"));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    proc.stdout!.on("data", check);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`tsd-daemon exited with ${code} before it was ready\n${output()}`));
    });
  });
}

test("npm pack makes a package whose installed bins run the daemon and tsctl", async (t) => {
  if (process.platform === "win32") {
    t.pass("the global prefix layout differs on Windows");
    return;
  }
  t.timeout(300_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-pack-"));
  let daemon: ChildProcess | undefined;
  t.teardown(async () => {
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill("SIGKILL");
      await new Promise((resolve) => daemon!.once("exit", resolve));
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const pack = await run("npm", ["pack", "--pack-destination", tmp], { cwd: ROOT, timeoutMs: 180_000 });
  t.is(pack.code, 0, show(pack));
  const tarballs = fs.readdirSync(tmp).filter((name) => name.endsWith(".tgz"));
  t.is(tarballs.length, 1, `one tarball expected in ${tmp}: ${tarballs.join(", ")}`);
  const tarball = path.join(tmp, tarballs[0]!);

  const prefix = path.join(tmp, "prefix");
  const install = await run(
    "npm",
    ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball],
    { cwd: tmp, timeoutMs: 180_000 },
  );
  t.is(install.code, 0, show(install));

  const installed = path.join(prefix, "lib", "node_modules", "tsd");
  t.true(fs.existsSync(path.join(installed, "dist", "daemon", "main.js")), "the package carries dist/");
  t.true(fs.existsSync(path.join(installed, "systemd", "tsd.service")), "the package carries the unit");
  t.false(fs.existsSync(path.join(installed, "daemon")), "no TypeScript sources: the bins run dist/");
  t.false(fs.existsSync(path.join(installed, "node_modules", "node")), "no Node of its own at run time");

  const bin = (name: string) => path.join(prefix, "bin", name);
  const help = await run(bin("tsd-daemon"), ["--help"]);
  t.is(help.code, 0, show(help));
  t.true(help.stdout.includes("--chat-port"), show(help));

  const version = await run(bin("tsctl"), ["--version"]);
  t.is(version.code, 0, show(version));

  const socket = path.join(tmp, "c.sock");
  const stateDir = path.join(tmp, "state");
  daemon = spawn(
    bin("tsd-daemon"),
    ["--chat-port", "0", "--echo-port", "0", "--socket", socket, "--state-dir", stateDir],
    { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  daemon.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  daemon.stderr!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => daemon!.once("exit", (code) => resolve(code)));
  const ready = await waitForReady(daemon, () => out, 60_000);
  t.log(ready);

  const status = await run(bin("tsctl"), ["--socket", socket, "status", "--json"]);
  t.is(status.code, 0, show(status));
  const parsed = JSON.parse(status.stdout) as { workers: { threads: number }[] };
  t.true(parsed.workers.length >= 1, status.stdout);
  for (const worker of parsed.workers) t.true(worker.threads >= 1, status.stdout);

  const stop = await run(bin("tsctl"), ["--socket", socket, "stop"]);
  t.is(stop.code, 0, show(stop));
  t.is(await exited, 0, out);
});
