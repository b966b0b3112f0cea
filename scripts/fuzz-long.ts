/**
 * Long fuzzing run of the protocol properties (the same ones test/fuzz runs in CI with a few
 * thousand cases): LineFramer, TelnetFilter, decodeUtf8, sanitize, checkName, NdjsonReader
 * and the whole chat input path, fed random bytes cut at random chunk boundaries.
 *
 * Run from the repository root:
 *
 *   node scripts/fuzz-long.ts [minutes]          # default 10 minutes, FUZZ_RUNS=200000 per property
 *   FUZZ_RUNS=1000000 node scripts/fuzz-long.ts 60
 *   FUZZ_SEED=123 node scripts/fuzz-long.ts 5    # reproducible seeds (each batch uses seed + batch number)
 *
 * The time is shared equally by the properties; each runs in batches of 5,000 cases with a
 * fresh seed until it reaches FUZZ_RUNS or its share of the time. At the end a summary is
 * printed (cases, time, worst values seen). On the first failure the script prints
 * fast-check's report (seed, path and shrunk counterexample; replay it with
 * fc.check(property, { seed, path })), and exits 1; otherwise it exits 0.
 */

import fc from "fast-check";
import { PROPERTIES, runsFromEnv, stats } from "../test/fuzz/properties.ts";

const BATCH = 5000;
const minutes = Number(process.argv[2] ?? 10);
if (!Number.isFinite(minutes) || minutes <= 0) {
  console.error("usage: node scripts/fuzz-long.ts [minutes]   (env FUZZ_RUNS, FUZZ_SEED)");
  process.exit(2);
}
const target = runsFromEnv(200_000);
const baseSeed = Number.isInteger(Number(process.env.FUZZ_SEED))
  ? Number(process.env.FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 31);
const sharePerProperty = (minutes * 60_000) / PROPERTIES.length;

console.log(
  `fuzz-long: ${PROPERTIES.length} properties, up to ${target} cases each, ${minutes} min in all, base seed ${baseSeed}`,
);

interface Row {
  property: string;
  cases: number;
  seconds: number;
  ok: boolean;
}
const rows: Row[] = [];
let failed = false;

for (const p of PROPERTIES) {
  const started = Date.now();
  const deadline = started + sharePerProperty;
  let cases = 0;
  let batch = 0;
  let ok = true;
  while (cases < target && Date.now() < deadline) {
    const numRuns = Math.min(BATCH, target - cases);
    const seed = (baseSeed + batch) | 0;
    const result = fc.check(p.property, {
      numRuns,
      seed,
      examples: batch === 0 ? p.examples : [],
      interruptAfterTimeLimit: Math.max(1000, deadline - Date.now()),
    });
    cases += result.numRuns;
    batch++;
    if (result.failed) {
      ok = false;
      failed = true;
      console.error(`\nFAILED: ${p.name} (batch ${batch}, seed ${seed})\n${fc.defaultReportMessage(result)}`);
      break;
    }
  }
  const seconds = (Date.now() - started) / 1000;
  rows.push({ property: p.name.split(":")[0]!, cases, seconds, ok });
  console.log(`  ${ok ? "ok  " : "FAIL"} ${p.name}: ${cases} cases in ${seconds.toFixed(1)} s`);
  if (failed) break;
}

console.log("\nsummary");
console.table(rows);
console.log("worst values seen (ratios are of the limit; 1 = at the limit, never over):");
for (const [what, value] of Object.entries(stats))
  console.log(`  BOUND fuzz-long: ${what} = ${Number(value.toFixed(3))}`);
console.log(
  `total: ${rows.reduce((n, r) => n + r.cases, 0)} cases, ${rows.reduce((s, r) => s + r.seconds, 0).toFixed(1)} s, ${failed ? "FAILED" : "no failures"}`,
);
process.exit(failed ? 1 : 0);
