import crypto from "node:crypto";
import test from "ava";
import { rssBytes } from "../helpers/daemon.ts";
import { connect, echoRoundTrip } from "../helpers/sockets.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

const d = useDaemon(test, ["--no-chat", "--workers", "2", "--threads", "2", "--max-per-address", "0"]);

test.serial("echo - 1 MiB of random binary comes back byte-exact", async (t) => {
  const socket = await connect(d.daemon.echoPort);
  const data = crypto.randomBytes(1 << 20);
  const back = await echoRoundTrip(socket, data);
  socket.destroy();
  t.is(back.length, data.length);
  t.true(back.equals(data));
});

test.serial(
  "echo - 200 concurrent clients are all echoed, spread over the processes, one thread of each",
  async (t) => {
    const sockets = await Promise.all(Array.from({ length: 200 }, () => connect(d.daemon.echoPort)));
    const payloads = sockets.map((_, i) =>
      Buffer.from(`client ${i} ${crypto.randomBytes(8).toString("hex")}\n`),
    );
    const answers = await Promise.all(sockets.map((s, i) => echoRoundTrip(s, payloads[i]!)));
    t.true(answers.every((answer, i) => answer.equals(payloads[i]!)));

    const seen = await d.until((s) => s.sessions.echo === 200, "status to count 200 echo sessions");
    const busyWorkers = seen.workers.filter((w) => w.sessions > 0);
    const busyThreads = seen.workers.flatMap((w) => w.threadSessions).filter((n) => n > 0);
    t.true(busyWorkers.length > 1, `sessions on ${busyWorkers.length} processes`);
    t.true(busyThreads.length > 1, `sessions on ${busyThreads.length} threads`);
    // One event loop per process serves echo (ECHO_THREAD): the others would time-slice with it.
    t.deepEqual(
      seen.workers.map((w) => w.threadSessions.slice(1)),
      seen.workers.map((w) => w.threadSessions.slice(1).map(() => 0)),
      "only the first thread of each process serves echo",
    );
    t.is(
      seen.workers.reduce((sum, w) => sum + w.sessions, 0),
      200,
    );
    for (const socket of sockets) socket.destroy();
  },
);

test.serial(
  "echo - a client that sends 50 MiB without reading keeps the daemon's memory bounded",
  async (t) => {
    const before = await d.status();
    const pids = [d.daemon.proc.pid!, ...before.workers.map((w) => w.pid)];
    const rssBefore = pids.reduce((sum, pid) => sum + rssBytes(pid), 0);

    const socket = await connect(d.daemon.echoPort);
    socket.pause();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let written = 0;
    let peak = rssBefore;
    const deadline = Date.now() + 20_000;
    // Write until the kernel and the server stop taking data (backpressure) or 50 MiB are out.
    while (written < 50 * 1024 * 1024 && Date.now() < deadline) {
      if (!socket.write(chunk)) {
        const drained = await Promise.race([
          new Promise<boolean>((r) => socket.once("drain", () => r(true))),
          new Promise<boolean>((r) => setTimeout(() => r(false), 1000)),
        ]);
        peak = Math.max(
          peak,
          pids.reduce((sum, pid) => sum + rssBytes(pid), 0),
        );
        if (!drained) break;
      }
      written += chunk.length;
    }
    peak = Math.max(
      peak,
      pids.reduce((sum, pid) => sum + rssBytes(pid), 0),
    );
    const growth = peak - rssBefore;
    t.log(
      `accepted ${(written / 1048576).toFixed(1)} MiB; daemon RSS grew ${(growth / 1048576).toFixed(1)} MiB`,
    );
    // The server stops reading once its writes back are blocked: far less than 50 MiB was taken in.
    t.true(written < 50 * 1024 * 1024, "the server must stop reading a client that does not read");
    t.true(growth < 64 * 1024 * 1024, `RSS grew ${growth} bytes`);
    socket.destroy();
  },
);
