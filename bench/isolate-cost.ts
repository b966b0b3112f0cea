/**
 * What a worker thread costs: the time to start one and the RSS it adds. The figures behind
 * tsd's M:N shape (many sessions per thread) instead of a thread per client.
 * Run: node bench/isolate-cost.ts [threads]
 */
import { Worker } from "node:worker_threads";

const count = Number(process.argv[2] ?? 20);
const rss = () => process.memoryUsage().rss;
const before = rss();
const started = performance.now();
const workers: Worker[] = [];
for (let i = 0; i < count; i++) {
  const worker = new Worker(
    "require('node:worker_threads').parentPort.postMessage('up'); setInterval(() => {}, 1000);",
    { eval: true },
  );
  await new Promise((resolve) => worker.once("message", resolve));
  workers.push(worker);
}
const elapsed = performance.now() - started;
await new Promise((resolve) => setTimeout(resolve, 500));
const perThreadMiB = (rss() - before) / count / 1048576;
console.log(
  `${count} threads: ${(elapsed / count).toFixed(1)} ms to start each, ${perThreadMiB.toFixed(2)} MiB RSS each; ` +
    `10,000 clients as threads would need ~${Math.round((perThreadMiB * 10_000) / 1024)} GiB`,
);
await Promise.all(workers.map((w) => w.terminate()));
