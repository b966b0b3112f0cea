import { type ChildProcess, execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test, { type ExecutionContext } from "ava";

// npm pack (which builds dist/ on prepack), then global installs of the tarball into temporary
// prefixes laid out like /usr and /usr/local, by the machine's own npm and Node (Node 20 here,
// too old for tsd): the installed tsd-daemon, tsctl and tschat run on the Node the package
// brings, and `tsd-daemon --print-unit` writes a unit that systemd-analyze verify accepts. Then
// the .deb built from the same tarball, installed, run and removed with dpkg in a throwaway
// overlay of this machine's root. One file, so that one npm pack serves all.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The package of this platform's Node build, which the package brings (bin/bundled-node.js). */
const NODE_PACKAGE = `node-${process.platform === "win32" ? "win" : process.platform}-${process.arch}`;
const PROJECT_NODE_DIRS = new Set([path.join(ROOT, "node_modules", ".bin"), path.dirname(process.execPath)]);

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

// npm's own settings are kept where they help (its cache, for an offline install), the rest of
// what `npm test` exports (npm_config_prefix, npm_lifecycle_*...) would steer the nested npm.
const KEEP_NPM = new Set(["npm_config_cache", "npm_config_registry", "npm_config_userconfig"]);

/** The machine's environment as an operator's shell has it: no project Node on PATH, no tsd or npm run state. */
function machineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("TSD_") || (key.startsWith("npm_") && !KEEP_NPM.has(key))) continue;
    if (["RUNTIME_DIRECTORY", "STATE_DIRECTORY", "LOGS_DIRECTORY", "NOTIFY_SOCKET"].includes(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter(
      (dir) =>
        dir !== "" && !PROJECT_NODE_DIRS.has(dir) && !dir.includes(`${path.sep}node_modules${path.sep}`),
    )
    .join(path.delimiter);
  return env;
}

function run(
  file: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        env: opts.env ?? machineEnv(),
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 32 << 20,
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as NodeJS.ErrnoException).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.on("error", () => {}); // a command that never reads its input
    child.stdin?.end(opts.input ?? "");
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

/** Where the installed commands run: this machine, or the overlay root of the .deb test. */
interface Place {
  run(file: string, args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Run>;
  spawn(file: string, args: string[]): ChildProcess;
  /** The executable of a process of that place, by its pid there. */
  exeOf(pid: number): Promise<string>;
}

const THIS_MACHINE: Place = {
  run: (file, args, opts) => run(file, args, opts),
  spawn: (file, args) => spawn(file, args, { env: machineEnv(), stdio: ["ignore", "pipe", "pipe"] }),
  exeOf: async (pid) => fs.realpathSync(`/proc/${pid}/exe`),
};

/**
 * Runs the installed commands as an operator would: tsd-daemon --help, tsctl and tschat
 * --version, then a daemon on free ports that tsctl reaches, tschat talks to and tsctl stops.
 * The daemon's primary must run on ownNode.
 */
async function runTheCommands(
  t: ExecutionContext,
  place: Place,
  bin: (name: string) => string,
  ownNode: string,
  tmp: string,
): Promise<void> {
  const help = await place.run(bin("tsd-daemon"), ["--help"]);
  t.is(help.code, 0, show(help));
  t.true(help.stdout.includes("--chat-port"), show(help));
  for (const name of ["tsctl", "tschat"]) {
    const version = await place.run(bin(name), ["--version"]);
    t.is(version.code, 0, `${name}: ${show(version)}`);
    t.regex(version.stdout, /^\d+\.\d+\.\d+/);
  }

  const socket = path.join(tmp, "c.sock");
  const daemon = place.spawn(bin("tsd-daemon"), [
    "--chat-port",
    "0",
    "--echo-port",
    "0",
    "--socket",
    socket,
    "--state-dir",
    path.join(tmp, "state"),
  ]);
  t.teardown(async () => {
    if (daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill("SIGKILL");
      await new Promise((resolve) => daemon.once("exit", resolve));
    }
  });
  let out = "";
  daemon.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  daemon.stderr!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => daemon.once("exit", (code) => resolve(code)));
  const ready = await waitForReady(daemon, () => out, 60_000);
  t.log(ready);
  const echoPort = /echo=[^ ]*:(\d+)/.exec(ready)?.[1];
  t.truthy(echoPort, ready);

  const status = await place.run(bin("tsctl"), ["--socket", socket, "status", "--json"]);
  t.is(status.code, 0, show(status));
  const parsed = JSON.parse(status.stdout) as { pid: number; workers: { threads: number }[] };
  t.true(parsed.workers.length >= 1, status.stdout);
  if (process.platform === "linux") {
    // The primary runs on the package's Node, not the machine's.
    const exe = await place.exeOf(parsed.pid);
    t.true(exe.endsWith(ownNode), `${exe} is not ${ownNode}`);
  }

  const echo = await place.run(bin("tschat"), ["--echo", "--port", echoPort!], {
    input: "hello from tschat\n",
  });
  t.is(echo.code, 0, show(echo));
  t.true(echo.stdout.includes("hello from tschat"), show(echo));

  const stop = await place.run(bin("tsctl"), ["--socket", socket, "stop"]);
  t.is(stop.code, 0, show(stop));
  t.is(await exited, 0, out);
}

/** Why this machine cannot run the test, or null: it needs its own node and npm, outside the project. */
async function noMachineNode(): Promise<string | null> {
  if (process.platform === "win32") return "the global prefix layout differs on Windows";
  const node = await run("node", ["--version"]);
  if (node.code !== 0) return "the machine has no node of its own on PATH";
  const npm = await run("npm", ["--version"]);
  if (npm.code !== 0) return "the machine has no npm of its own on PATH";
  return null;
}

const noNode = await noMachineNode();
if (noNode) console.warn(`pack: skipped: ${noNode}`);
const machineTest = noNode ? test.skip : test;
const noDeb = await noDebInstall();
if (noDeb) console.warn(`deb: skipped: ${noDeb}`);
const debTest = noDeb ? test.skip : test;

let tarballOnce: Promise<{ dir: string; tarball: string }> | undefined;
/** One npm pack for every test of this file, into a directory removed when the process exits. */
function packOnce(): Promise<{ dir: string; tarball: string }> {
  tarballOnce ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-pack-"));
    process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    // Packed from a copy of the checkout: prepack rebuilds dist/, which must not pull the floor
    // from under another run of the suite (or a daemon) in the same checkout.
    const source = path.join(dir, "source");
    fs.cpSync(ROOT, source, {
      recursive: true,
      filter: (from) => !/[\\/](node_modules|dist|\.git)$/.test(from) && !/\.(tgz|deb)$/.test(from),
    });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(source, "node_modules"), "dir");
    const pack = await run("npm", ["pack", "--pack-destination", dir], {
      cwd: source,
      timeoutMs: 180_000,
      env: { ...machineEnv(), PATH: process.env.PATH },
    });
    if (pack.code !== 0) throw new Error(`npm pack failed\n${show(pack)}`);
    const tarballs = fs.readdirSync(dir).filter((name) => name.endsWith(".tgz"));
    if (tarballs.length !== 1) throw new Error(`one tarball expected in ${dir}: ${tarballs.join(", ")}`);
    return { dir, tarball: path.join(dir, tarballs[0]!) };
  })();
  return tarballOnce;
}

/** npm install -g of the tarball into prefix, by the machine's npm. */
async function installInto(prefix: string, tarball: string): Promise<Run> {
  return run(
    "npm",
    [
      "install",
      "-g",
      "--prefix",
      prefix,
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--allow-scripts=node",
      tarball,
    ],
    { cwd: path.dirname(tarball), timeoutMs: 240_000 },
  );
}

machineTest(
  "pack - installed by the machine's npm and Node, the three commands run on the package's own Node",
  async (t) => {
    t.timeout(400_000);
    const machineNode = await run("node", ["--version"]);
    t.log(`the machine's node: ${machineNode.stdout.trim()}`);
    const { dir, tarball } = await packOnce();
    const tmp = fs.mkdtempSync(path.join(dir, "run-"));
    t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

    const prefix = path.join(tmp, "usr", "local");
    const install = await installInto(prefix, tarball);
    t.is(install.code, 0, show(install));

    const installed = path.join(prefix, "lib", "node_modules", "tsd");
    t.true(fs.existsSync(path.join(installed, "dist", "daemon", "main.js")), "the package carries dist/");
    t.false(fs.existsSync(path.join(installed, "daemon")), "no TypeScript sources: the bins run dist/");
    const ownNode = path.join(installed, "node_modules", NODE_PACKAGE, "bin", "node");
    t.true(fs.existsSync(ownNode), "the package brings its Node");
    t.true(fs.existsSync(path.join(prefix, "share", "man", "man8", "tsctl.8")), "the man pages are linked");

    await runTheCommands(
      t,
      THIS_MACHINE,
      (name) => path.join(prefix, "bin", name),
      fs.realpathSync(ownNode),
      tmp,
    );
  },
);

machineTest(
  "pack - tsd-daemon --print-unit writes a unit systemd-analyze verify accepts, for /usr and /usr/local",
  async (t) => {
    t.timeout(400_000);
    const analyze = await run("systemd-analyze", ["--version"]);
    if (analyze.code === "ENOENT") {
      t.fail("systemd-analyze is missing: apt-get install -y systemd (.ci/run does it as root)");
      return;
    }
    const { dir, tarball } = await packOnce();
    const tmp = fs.mkdtempSync(path.join(dir, "units-"));
    t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
    for (const layout of [["usr"], ["usr", "local"]]) {
      const prefix = path.join(tmp, ...layout);
      const install = await installInto(prefix, tarball);
      t.is(install.code, 0, show(install));
      const printed = await run(path.join(prefix, "bin", "tsd-daemon"), ["--print-unit"]);
      t.is(printed.code, 0, show(printed));
      const execStart = printed.stdout.split("\n").find((line) => line.startsWith("ExecStart="));
      const installed = fs.realpathSync(path.join(prefix, "lib", "node_modules", "tsd"));
      t.is(
        execStart,
        `ExecStart=${installed}/node_modules/${NODE_PACKAGE}/bin/node ${installed}/bin/tsd-daemon.js --socket-group tsd-operators`,
      );
      // verify wants the unit's own name: tsd.service, in a directory of its own.
      const unitDir = path.join(tmp, `unit-${layout.join("-")}`);
      fs.mkdirSync(unitDir);
      const unit = path.join(unitDir, "tsd.service");
      fs.writeFileSync(unit, printed.stdout);
      // verify also looks up the unit's Documentation= man pages: npm linked them under the prefix.
      const verify = await run("systemd-analyze", ["verify", unit], {
        env: { ...machineEnv(), MANPATH: `${path.join(prefix, "share", "man")}:` },
      });
      const complaints = verify.stderr
        .split("\n")
        .filter((line) => line.includes("tsd.service") || line.includes(tmp));
      t.deepEqual(complaints, [], verify.stderr);
      t.is(verify.code, 0, show(verify));
    }
  },
);

machineTest(
  "pack - npm install in a fresh checkout leaves the tree clean and warns of nothing",
  async (t) => {
    t.timeout(400_000);
    const git = await run("git", ["-C", ROOT, "rev-parse", "HEAD"]);
    if (git.code !== 0) {
      t.fail(`not a git checkout: ${show(git)}`);
      return;
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-checkout-"));
    t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const clone = await run("git", ["clone", "--quiet", "--no-hardlinks", ROOT, tmp], { timeoutMs: 120_000 });
    t.is(clone.code, 0, show(clone));
    // The manifest and lock of this tree, committed or not: they are what is under test.
    for (const file of ["package.json", "package-lock.json"])
      fs.copyFileSync(path.join(ROOT, file), path.join(tmp, file));
    await run(
      "git",
      ["-C", tmp, "commit", "--quiet", "--allow-empty", "-am", "this tree's manifest and lock"],
      {
        env: {
          ...machineEnv(),
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@t",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@t",
        },
      },
    );

    const install = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], {
      cwd: tmp,
      timeoutMs: 300_000,
    });
    t.is(install.code, 0, show(install));
    const said = `${install.stdout}\n${install.stderr}`;
    t.false(said.includes("EBADENGINE"), said);
    t.deepEqual(
      said.split("\n").filter((line) => /^npm (warn|error)/i.test(line)),
      [],
      "npm install says nothing alarming",
    );
    const statusAfter = await run("git", ["-C", tmp, "status", "--porcelain"]);
    t.is(statusAfter.stdout, "", "npm install leaves the tree as committed");
    t.is(
      (await run(path.join(tmp, "node_modules", ".bin", "node"), ["--version"])).stdout.trim().slice(0, 4),
      "v24.",
    );
  },
);

/** Why this machine cannot install the .deb in a throwaway root, or null. */
async function noDebInstall(): Promise<string | null> {
  if (noNode) return noNode;
  if (process.platform !== "linux") return "a .deb is for Debian and Ubuntu";
  if (process.getuid?.() !== 0) return "an overlay root in namespaces of its own needs root";
  for (const [tool, pkg] of [
    ["dpkg-deb", "dpkg"],
    ["dpkg-shlibdeps", "dpkg-dev"],
    ["lintian", "lintian"],
    ["unshare", "util-linux"],
    ["nsenter", "util-linux"],
  ]) {
    if ((await run("sh", ["-c", `command -v ${tool}`])).code !== 0)
      return `${tool} is missing (apt-get install ${pkg}; .ci/run does it)`;
  }
  return null;
}

// The throwaway root (scripts/throwaway-root.sh, shared with scripts/systemd-check.sh), run by
// unshare as PID 1 of new mount and PID namespaces; chrooted, it waits while the test runs
// commands there with nsenter.
const THROWAWAY_ROOT = path.join(ROOT, "scripts", "throwaway-root.sh");

/**
 * A throwaway copy of this machine to install the .deb in: dpkg, useradd and the daemon act
 * there, and nothing of it reaches the machine (nor another test run on it). Its files are
 * seen from here under root().
 */
async function throwawayRoot(
  t: ExecutionContext,
  work: string,
  deb: string,
): Promise<Place & { root(): string }> {
  fs.mkdirSync(path.join(work, "layer"), { recursive: true });
  fs.mkdirSync(path.join(work, "root"));
  const stage = spawn(
    "unshare",
    ["--mount", "--pid", "--fork", "--kill-child", "sh", THROWAWAY_ROOT, work, deb, "sleep", "infinity"],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stageErr = "";
  stage.stderr!.on("data", (d: Buffer) => {
    stageErr += d.toString();
  });
  t.teardown(async () => {
    if (stage.exitCode === null && stage.signalCode === null) {
      stage.kill("SIGKILL");
      await new Promise((resolve) => stage.once("exit", resolve));
    }
  });
  // The namespace's PID 1, once it is `sleep` in the new root.
  const pid1 = await waitUntil(
    async () => {
      const children = fs.readFileSync(`/proc/${stage.pid}/task/${stage.pid}/children`, "utf8").trim();
      const pid = Number(children.split(" ")[0]);
      if (!pid) return null;
      const exe = fs.readlinkSync(`/proc/${pid}/exe`, { encoding: "utf8" });
      return exe.endsWith("/sleep") && fs.existsSync(`/proc/${pid}/root/root/tsd.deb`) ? pid : null;
    },
    () => `the throwaway root did not come up: ${stageErr}`,
  );
  const enter = ["--target", String(pid1), "--mount", "--pid", "--root", "--wd", "--"];
  return {
    run: (file, args, opts) => run("nsenter", [...enter, file, ...args], opts),
    spawn: (file, args) =>
      spawn("nsenter", [...enter, file, ...args], { env: machineEnv(), stdio: ["ignore", "pipe", "pipe"] }),
    exeOf: async (pid) => (await run("nsenter", [...enter, "readlink", `/proc/${pid}/exe`])).stdout.trim(),
    root: () => `/proc/${pid1}/root`,
  };
}

/** Polls check every 100 ms for up to 30 s. */
async function waitUntil<T>(check: () => Promise<T | null>, why: () => string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await check().catch(() => null);
    if (value !== null) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(why());
}

debTest(
  "deb - npm run deb builds a lintian-clean package that installs, runs, and removes cleanly",
  async (t) => {
    t.timeout(600_000);
    const { dir, tarball } = await packOnce();
    const tmp = fs.mkdtempSync(path.join(dir, "deb-"));
    t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

    // npm run deb, on the project's Node, from the tarball already packed.
    const build = await run(
      process.execPath,
      [path.join(ROOT, "scripts", "deb.ts"), "--tarball", tarball, "--out", tmp, "--compress", "gzip"],
      { cwd: ROOT, timeoutMs: 300_000, env: { ...machineEnv(), PATH: process.env.PATH } },
    );
    t.is(build.code, 0, show(build));
    const debs = fs.readdirSync(tmp).filter((name) => name.endsWith(".deb"));
    t.is(debs.length, 1, debs.join(", "));
    const deb = path.join(tmp, debs[0]!);
    t.log(`${debs[0]}: ${(fs.statSync(deb).size / 2 ** 20).toFixed(1)} MiB`);

    const lintian = await run("lintian", [deb], { timeoutMs: 300_000 });
    const errors = lintian.stdout.split("\n").filter((line) => line.startsWith("E:"));
    t.deepEqual(errors, [], lintian.stdout);

    const there = await throwawayRoot(t, path.join(tmp, "overlay"), deb);
    const exists = (file: string) => fs.existsSync(path.join(there.root(), file));
    const getent = async (db: string, key: string) => (await there.run("getent", [db, key])).code === 0;

    const install = await there.run("dpkg", ["-i", "/root/tsd.deb"], { timeoutMs: 120_000 });
    t.is(install.code, 0, show(install));
    t.true(await getent("passwd", "tsd"), "postinst made the tsd user");
    t.true(await getent("group", "tsd-operators"), "postinst made the operator group");
    for (const file of [
      "/lib/systemd/system/tsd.service",
      "/etc/logrotate.d/tsd",
      "/usr/share/man/man8/tsctl.8.gz",
    ])
      t.true(exists(file), file);
    const verify = await there.run("systemd-analyze", ["verify", "/lib/systemd/system/tsd.service"]);
    t.deepEqual(
      verify.stderr.split("\n").filter((line) => line.includes("tsd.service")),
      [],
      verify.stderr,
    );

    const ownNode = `/usr/lib/tsd/node_modules/node-linux-${process.arch}/bin/node`;
    await runTheCommands(t, there, (name) => `/usr/bin/${name}`, ownNode, "/tmp");

    // The state a running service would have left.
    const state = await there.run("sh", [
      "-c",
      "mkdir -p /var/lib/tsd && echo '{}' > /var/lib/tsd/identities.json",
    ]);
    t.is(state.code, 0, show(state));
    const remove = await there.run("dpkg", ["-r", "tsd"], { timeoutMs: 120_000 });
    t.is(remove.code, 0, show(remove));
    t.false(exists("/usr/bin/tsctl"), "the commands are gone");
    t.false(exists("/usr/lib/tsd"), "the package's files are gone");
    t.true(exists("/var/lib/tsd/identities.json"), "remove keeps the state");
    t.true(await getent("passwd", "tsd"), "remove keeps the user");

    const purge = await there.run("dpkg", ["--purge", "tsd"], { timeoutMs: 120_000 });
    t.is(purge.code, 0, show(purge));
    t.false(exists("/var/lib/tsd"), "purge removes the state");
    t.false(exists("/etc/logrotate.d/tsd"), "purge removes the configuration");
    t.false(await getent("passwd", "tsd"), "purge removes the user");
    t.false(await getent("group", "tsd-operators"), "purge removes the group");
  },
);
