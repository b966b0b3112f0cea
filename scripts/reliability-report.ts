/**
 * Builds docs/reliability.md from the suite's own output: runs the load, fault and
 * hostile-input tests with ava --verbose, collects every `BOUND <area>: <what> = <value>`
 * line the tests log and each test's outcome, and writes them as tables.
 * Run: node scripts/reliability-report.ts
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";

const FILES = [
  "test/soak",
  "test/faults",
  "test/hostile",
  "test/fuzz",
  "test/e2e/chat-scale.slow.test.ts",
  "test/e2e/chat-limits.test.ts",
  "test/e2e/logging.test.ts",
];
const run = spawnSync("npx", ["ava", "--verbose", "--concurrency", "1", ...FILES], {
  encoding: "utf8",
  maxBuffer: 64 << 20,
  // The quick tests and the slow ones (soak, long loads) together.
  env: { ...process.env, FORCE_COLOR: "0", TEST_TIER: "all" },
});
const output = `${run.stdout}\n${run.stderr}`;

const outcomes: { ok: boolean; name: string }[] = [];
const bounds = new Map<string, { what: string; value: string }[]>();
for (const raw of output.split("\n")) {
  const line = raw.trim();
  const outcome = /^(✔|✘)\s+(?:\[fail\]:\s+)?(.*?)(?:\s+\(\d+(?:\.\d+)?m?s\))?$/.exec(line);
  if (outcome) outcomes.push({ ok: outcome[1] === "✔", name: outcome[2]!.replace(/ › /g, " / ") });
  const bound = /BOUND ([^:]+): (.*?) = (.*)$/.exec(line);
  if (bound) {
    const list = bounds.get(bound[1]!) ?? [];
    list.push({ what: bound[2]!, value: bound[3]! });
    bounds.set(bound[1]!, list);
  }
}

const cell = (text: string) => text.replaceAll("|", "\\|");
/** The hand-written section of the page, kept as it is between runs. */
const HAND_WRITTEN = "## Defects found by the hostile review";
function handWritten(): string[] {
  const page = fs.existsSync("docs/reliability.md") ? fs.readFileSync("docs/reliability.md", "utf8") : "";
  const start = page.indexOf(HAND_WRITTEN);
  if (start === -1) return [];
  const end = page.indexOf("\n## ", start + HAND_WRITTEN.length);
  return page.slice(start, end === -1 ? undefined : end + 1).split("\n");
}

const lines = [
  "# Reliability: load held, faults survived, bad inputs tried",
  "",
  `Produced by \`node scripts/reliability-report.ts\` from the test suite's own output on ${new Date().toISOString().slice(0, 10)}`,
  `(${process.version}, ${FILES.join(", ")}). Every figure below is a \`BOUND\` line a test logged while it ran;`,
  "the tests assert the bounds, the figures show how far inside them this run stayed. The machine",
  "has 2 shared cores: read timings as orders of magnitude, not as constants.",
  "",
  ...handWritten(),
  "## Outcomes",
  "",
  "| test | result |",
  "|---|---|",
  ...outcomes.map((o) => `| ${cell(o.name)} | ${o.ok ? "passed" : "FAILED"} |`),
  "",
  "## Bounds measured",
  "",
];
for (const [area, list] of [...bounds].sort(([a], [b]) => a.localeCompare(b))) {
  lines.push(`### ${area}`, "", "| what | measured |", "|---|---|");
  for (const { what, value } of list) lines.push(`| ${cell(what)} | ${cell(value)} |`);
  lines.push("");
}
lines.push(
  "## Longer runs (by script, not in CI)",
  "",
  "- `node scripts/soak.ts --sessions 10000 --seconds 120 --churn 10 --rate 5 --workers 2 --threads 2`: the full soak.",
  "  Last run (2026-11-27): 10,000 sessions signed in in 127 s (the join notices make a sign-in storm O(n^2));",
  "  then 120 s with 559 sessions churned and 279 messages (the soak's own single Node process, receiving",
  "  ~90,000 lines/s, could not hold the asked 10/s and 5/s); 2,788,001 deliveries checked, 0 missing,",
  "  0 duplicated, 0 errors; daemon RSS 1,815 MiB after warm-up, 1,835 MiB at the end (flat, but",
  "  ~180 KiB per session: see docs/performance.md on idle memory).",
  "- `node scripts/fuzz-long.ts [minutes]`: the fuzz properties with hundreds of thousands of cases each.",
  "",
);
fs.writeFileSync("docs/reliability.md", `${lines.join("\n")}`);
console.log(
  `docs/reliability.md: ${outcomes.length} tests (${outcomes.filter((o) => !o.ok).length} failed), ${[...bounds.values()].flat().length} bounds`,
);
process.exitCode = run.status ?? 1;
