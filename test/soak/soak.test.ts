import test from "ava";
import { runSoak } from "./soak.ts";

test("soak (short) - 1,000 sessions with churn: every message once to every member, no errors, memory flat", async (t) => {
  t.timeout(180_000);
  const report = await runSoak({
    sessions: 1000,
    seconds: 20,
    churnPerSecond: 10,
    messagesPerSecond: 10,
    workers: 2,
    threads: 2,
    log: (line) => t.log(line),
  });
  t.log(
    `BOUND soak: ${report.sessions} sessions, ${report.churned} churned, ${report.messagesSent} messages, ${report.deliveriesChecked} deliveries checked`,
  );
  t.log(`BOUND soak: RSS per signed-in session = ${report.rssPerSessionBytes} bytes`);
  t.log(
    `BOUND soak: RSS after warm-up = ${(report.rssAfterWarmupBytes / 1048576).toFixed(1)} MiB, at the end = ${(report.rssEndBytes / 1048576).toFixed(1)} MiB`,
  );
  t.deepEqual(report.errors, []);
  t.true(report.deliveriesChecked > report.messagesSent * 500, "most members saw most messages");
  t.is(report.missing, 0);
  t.is(report.duplicates, 0);
  t.true(report.churned >= 150);
  t.true(report.rssEndBytes < report.rssAfterWarmupBytes * 1.2 + 32 * 1048576, "RSS flat after warm-up");
});
