/**
 * The full soak: `node scripts/soak.ts [--sessions 10000] [--seconds 120] [--churn 20] [--rate 5]
 * [--workers 2] [--threads 2]`. Bounded by --seconds (plus sign-in and drain); exits 1 if a
 * message was lost or duplicated, a client saw an error, or RSS grew after warm-up.
 * Raise the open-file limit first for 10,000 sessions (ulimit -n 30000): the soak's own
 * process holds one socket per session.
 */
import { parseArgs } from "node:util";
import { runSoak } from "../test/soak/soak.ts";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "10000" },
    seconds: { type: "string", default: "120" },
    churn: { type: "string", default: "20" },
    rate: { type: "string", default: "5" },
    workers: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
  },
});
const report = await runSoak({
  sessions: Number(values.sessions),
  seconds: Number(values.seconds),
  churnPerSecond: Number(values.churn),
  messagesPerSecond: Number(values.rate),
  workers: Number(values.workers),
  threads: Number(values.threads),
  log: (line) => console.log(line),
});
const flat = report.rssEndBytes < report.rssAfterWarmupBytes * 1.2 + 32 * 1048576;
console.log(JSON.stringify(report, null, 2));
console.log(
  `soak: ${report.sessions} sessions, ${report.seconds} s, ${report.churned} churned, ${report.messagesSent} messages, ` +
    `${report.deliveriesChecked} deliveries checked, ${report.missing} missing, ${report.duplicates} duplicated, ` +
    `${report.errors.length} errors, RSS ${(report.rssAfterWarmupBytes / 1048576).toFixed(0)} -> ${(report.rssEndBytes / 1048576).toFixed(0)} MiB (${flat ? "flat" : "GREW"})`,
);
process.exitCode =
  report.missing === 0 && report.duplicates === 0 && report.errors.length === 0 && flat ? 0 : 1;
