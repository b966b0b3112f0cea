import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const UNIT = path.join(ROOT, "systemd", "tsd.service");
const INSTALLED_DAEMON = "/usr/local/bin/tsd-daemon";
const MAX_EXPOSURE = 2.0;

interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
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

/** The directives of the [Service] section, key -> every value given. */
function serviceSection(text: string): Map<string, string[]> {
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
    if (section !== "Service") continue;
    const eq = line.indexOf("=");
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

test("the unit passes systemd-analyze verify", async (t) => {
  await requireAnalyze();
  // verify insists that ExecStart's binary exists; the unit names the installed
  // /usr/local/bin/tsd-daemon, so check a copy (same name, tsd.service) whose ExecStart is
  // this Node, which exists everywhere the tests run.
  const text = fs.readFileSync(UNIT, "utf8");
  t.true(text.includes(`ExecStart=${INSTALLED_DAEMON} `), "ExecStart runs the installed tsd-daemon");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-unit-"));
  try {
    const copy = path.join(dir, "tsd.service");
    fs.writeFileSync(copy, text.replaceAll(`ExecStart=${INSTALLED_DAEMON}`, `ExecStart=${process.execPath}`));
    const result = await run("systemd-analyze", ["verify", copy]);
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
