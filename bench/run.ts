// `npm run bench [-- <scenario>...] [options]`: benchmark tsd against reference
// servers and print one table per scenario; raw figures go to bench/results/.
// See bench/README.md.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { killChatgens } from "./chatgen.ts";
import { writeDocsTables } from "./docs-tables.ts";
import { ensureLoadgen, killLoadgens, loadgenBinary } from "./loadgen.ts";
import { planPinning } from "./proc.ts";
import { SCENARIOS } from "./scenarios/index.ts";
import { profileTsdInto, repoRoot, SERVERS, stopAllServers } from "./servers.ts";
import type { BenchContext, BenchOptions, ScenarioReport } from "./types.ts";

const usage = `usage: npm run bench -- [scenario...] [options]

scenarios (default: all, in this order):
${SCENARIOS.map((s) => `  ${s.name.padEnd(16)} ${s.title}`).join("\n")}

options:
  --runs N          runs per server, medians reported (default 3)
  --extra-rounds N  rounds that may be added to replace rounds disturbed by other
                    load on the machine; the least disturbed are kept (default 1)
  --duration SEC    measured seconds per run (default 5)
  --warmup SEC      warm-up seconds before each measured window (default 1)
  --servers A,B     servers to compare, first one is the ratio baseline
                    (default: each scenario's list; known: ${Object.keys(SERVERS).join(", ")})
  --quick           1 run x 2 s per server, no extra round (a smoke test, not a measurement)
  --no-pin          do not pin the load generator and servers to CPUs
  --write-docs      write the measured tables into docs/performance.md (chat-idle,
                    chat-fanout-1000), between their <!-- bench:NAME begin/end --> markers
  --cpu-prof DIR    start tsd under node --cpu-prof: one .cpuprofile per process and
                    session thread in DIR, written as each ends
  -h, --help        this text
`;

function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n\n${usage}`);
  process.exit(2);
}

function positiveNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0)) fail(`--${name} must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        runs: { type: "string" },
        "extra-rounds": { type: "string" },
        duration: { type: "string" },
        warmup: { type: "string" },
        servers: { type: "string" },
        quick: { type: "boolean", default: false },
        "no-pin": { type: "boolean", default: false },
        "write-docs": { type: "boolean", default: false },
        "cpu-prof": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
})();
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}

const selected =
  positionals.length === 0 || positionals.includes("all")
    ? [...SCENARIOS]
    : [
        ...new Set(
          positionals.flatMap((name) => {
            const exact = SCENARIOS.find((s) => s.name === name);
            if (exact) return [exact];
            // A prefix selects a family: `chat`, `chat-fanout`, `echo`.
            const family = SCENARIOS.filter((s) => s.name.startsWith(`${name}-`));
            return family.length > 0 ? family : fail(`unknown scenario ${name}`);
          }),
        ),
      ];

const options: BenchOptions = {
  runs: Math.round(positiveNumber("runs", values.runs, values.quick ? 1 : 3)),
  extraRounds:
    values["extra-rounds"] === "0"
      ? 0
      : Math.round(positiveNumber("extra-rounds", values["extra-rounds"], values.quick ? 0 : 1)),
  durationS: positiveNumber("duration", values.duration, values.quick ? 2 : 5),
  warmupS: values.warmup === "0" ? 0 : positiveNumber("warmup", values.warmup, values.quick ? 0.5 : 1),
};
if (values.servers) {
  options.servers = values.servers.split(",").filter(Boolean);
  for (const id of options.servers) if (!SERVERS[id]) fail(`unknown server ${id}`);
}

const log = (msg: string) => process.stderr.write(`  .. ${msg}\n`);

// ---------------------------------------------------------------------------

const started = new Date();
const pinning = planPinning(!values["no-pin"]);
if (values["cpu-prof"] !== undefined) {
  if (values["cpu-prof"] === "") fail("--cpu-prof needs a directory");
  mkdirSync(values["cpu-prof"], { recursive: true });
  profileTsdInto(path.resolve(values["cpu-prof"]));
}
let loadgen: string;
try {
  loadgen = ensureLoadgen(log);
} catch (err) {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(1);
}
const ctx: BenchContext = { options, pinning, loadgen, log };

const serversFor = (s: (typeof SCENARIOS)[number]) => options.servers ?? s.defaultServers;
const budgetS = selected.reduce((t, s) => t + s.estimateSeconds(options, serversFor(s).length), 0);
const extraS = selected.reduce((t, s) => {
  const n = serversFor(s).length;
  return (
    t + s.estimateSeconds(options, n, options.runs + options.extraRounds) - s.estimateSeconds(options, n)
  );
}, 0);

// Every run stops by itself: a watchdog ends everything well past the estimate.
const limitS = Math.round((budgetS + extraS) * 2 + 60);
const watchdog = setTimeout(async () => {
  process.stderr.write(`bench: still running after ${limitS} s, giving up\n`);
  killLoadgens();
  killChatgens();
  await stopAllServers();
  process.exit(1);
}, limitS * 1000);
watchdog.unref();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    process.stderr.write(`bench: ${signal}, stopping servers\n`);
    killLoadgens();
    killChatgens();
    await stopAllServers();
    process.exit(130);
  });
}

const cpuModel = os.cpus()[0]?.model.trim() ?? "unknown CPU";
const gitRev = (() => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: repoRoot,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "none";
  }
})();
const usedServers = [...new Set(selected.flatMap(serversFor))];

const header = [
  `tsd benchmark  ${started.toISOString()}  (git ${gitRev})`,
  `  node ${process.version} (${process.execPath})`,
  `  ${os.type()} ${os.release()}, ${os.availableParallelism()} CPUs: ${cpuModel}; load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
  `  pinning: ${pinning.note}`,
  `  runs: ${options.runs} x ${options.durationS} s per server (+${options.warmupS} s warm-up), interleaved; ` +
    `about ${Math.round(budgetS)} s in all` +
    (options.extraRounds > 0
      ? ` (up to ${Math.round(budgetS + extraS)} s if rounds disturbed by other load are repeated)`
      : ""),
  "  servers:",
  ...usedServers.map((id) => `    ${SERVERS[id]!.label.padEnd(10)} ${SERVERS[id]!.describe}`),
  "",
];
process.stdout.write(`${header.join("\n")}\n`);

const reports: ScenarioReport[] = [];
let failed = false;
for (const scenario of selected) {
  log(`${scenario.name}: ${scenario.title}`);
  try {
    const report = await scenario.run(ctx, serversFor(scenario));
    reports.push(report);
    process.stdout.write(`${report.text}\n\n`);
  } catch (err) {
    failed = true;
    process.stderr.write(`bench: ${scenario.name} failed: ${(err as Error).stack ?? err}\n`);
    killChatgens();
    await stopAllServers();
  }
}

const resultsDir = path.join(repoRoot, "bench", "results");
mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `${started.toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      schema: 1,
      started: started.toISOString(),
      finished: new Date().toISOString(),
      git: gitRev,
      host: {
        node: process.version,
        node_path: process.execPath,
        os: `${os.type()} ${os.release()}`,
        cpus: os.availableParallelism(),
        cpu_model: cpuModel,
        loadavg_at_start: os.loadavg(),
      },
      pinning,
      options,
      loadgen: { binary: path.relative(repoRoot, loadgenBinary), cpu_limit_warning: 0.9 },
      scenarios: reports.map(({ text: _text, markdown: _markdown, ...rest }) => rest),
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(`raw figures: ${path.relative(process.cwd(), file)}\n`);
if (values["write-docs"]) {
  const docs = path.join(repoRoot, "docs", "performance.md");
  const measured =
    `Written by \`npm run bench -- ${process.argv.slice(2).join(" ")}\` (${started.toISOString().slice(0, 10)}, git ${gitRev}, ` +
    `load average at start ${os.loadavg()[0]!.toFixed(1)}; raw figures in bench/results/${path.basename(file)}):`;
  const { written, missing } = writeDocsTables(docs, reports, measured);
  if (written.length > 0) process.stdout.write(`docs/performance.md: wrote ${written.join(", ")}\n`);
  if (missing.length > 0)
    process.stderr.write(`bench: docs/performance.md has no markers for ${missing.join(", ")}\n`);
}
clearTimeout(watchdog);
process.exit(failed || reports.length === 0 ? 1 : 0);
