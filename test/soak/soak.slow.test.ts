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
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
  t.log(
    `BOUND soak: sessions signed in at once = ${report.sessions} (in ${report.signInSeconds.toFixed(1)} s)`,
  );
  t.log(
    `BOUND soak: sessions churned (left and replaced) in ${report.seconds.toFixed(1)} s = ${report.churned}`,
  );
  t.log(`BOUND soak: messages sent = ${report.messagesSent}`);
  t.log(
    `BOUND soak: deliveries checked / missing / duplicated = ${report.deliveriesChecked} / ${report.missing} / ${report.duplicates}`,
  );
  t.log(
    `BOUND soak: RSS per signed-in session (all processes, garbage included) = ${report.rssPerSessionBytes} bytes`,
  );
  t.log(
    `BOUND soak: daemon RSS after warm-up -> at the end = ${mib(report.rssAfterWarmupBytes)} -> ${mib(report.rssEndBytes)}`,
  );
  t.deepEqual(report.errors, []);
  t.true(report.deliveriesChecked > report.messagesSent * 500, "most members saw most messages");
  t.is(report.missing, 0);
  t.is(report.duplicates, 0);
  t.is(report.churned, 200, "10 a second for 20 s: done in full, however long a busy machine takes");
  t.true(report.rssEndBytes < report.rssAfterWarmupBytes * 1.2 + 32 * 1048576, "RSS flat after warm-up");
});
