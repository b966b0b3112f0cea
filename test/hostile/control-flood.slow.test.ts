import net from "node:net";
import test from "ava";
import { type RunningDaemon, rssBytes, startDaemon, shape } from "../helpers/daemon.ts";
import { bound, flood, MiB, patternChunk, rssSampler } from "./helpers.ts";

const GB = 1024 * MiB;
const FLOOD_MS = 60_000;
/** The control socket's memory for one bad client: it must stay well under this. */
const RSS_BUDGET = 128 * MiB;
/** Past this growth the flood is stopped early, to protect the machine; reaching it is a failure. */
const RSS_ABORT = 256 * MiB;

let daemon: RunningDaemon;
const sockets: net.Socket[] = [];

test.before(async () => {
  daemon = await startDaemon([...shape(2, 1), "--no-echo"]);
});
test.after.always(async () => {
  for (const s of sockets) s.destroy();
  await daemon?.cleanup();
});

function openControl(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(daemon.socket);
    sockets.push(s);
    s.once("connect", () => {
      s.off("error", reject);
      s.on("error", () => {});
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Runs `tsctl status` (a process each time, so one at a time) while running() is true; counts the answers that worked. */
async function statusWhile(
  running: () => boolean,
): Promise<{ ok: number; failed: number; slowestMs: number }> {
  let ok = 0;
  let failed = 0;
  let slowestMs = 0;
  while (running()) {
    const t0 = Date.now();
    const res = await daemon.tsctl(["status", "--json"]);
    slowestMs = Math.max(slowestMs, Date.now() - t0);
    if (res.code === 0 && JSON.parse(res.stdout).pid === daemon.proc.pid) ok++;
    else failed++;
  }
  return { ok, failed, slowestMs };
}

/** Resolves once text() holds a line end or the socket has closed, or after timeoutMs. */
function lineOrClose(s: net.Socket, text: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      s.off("data", check);
      s.off("close", done);
      resolve();
    };
    const check = () => {
      if (text().includes("\n")) done();
    };
    const timer = setTimeout(done, timeoutMs);
    s.on("data", check);
    s.once("close", done);
    if (s.destroyed) done();
    else check();
  });
}

test.serial(
  "control flood - 1 GB without a newline is cut off after ~1 MiB with an error line; memory bounded; status still answers",
  async (t) => {
    const pid = daemon.proc.pid!;
    const before = rssBytes(pid);
    const sampler = rssSampler([pid]);
    const s = await openControl();
    let received = "";
    s.on("data", (d: Buffer) => {
      received += d.toString("utf8");
    });
    let running = true;
    const statuses = statusWhile(() => running);
    const result = await flood(s, {
      total: GB,
      deadlineMs: FLOOD_MS,
      chunk: patternChunk("{garbage", 64 * 1024),
      abort: () => sampler.max - before > RSS_ABORT,
    });
    // The error line is read before the server's close completes.
    await lineOrClose(s, () => received, 10_000);
    running = false;
    const status = await statuses;
    const growth = sampler.stop() - before;
    s.destroy();

    const first = received.split("\n")[0] ?? "";
    bound(
      t,
      "control-flood",
      "bytes accepted before the no-newline flood was cut off (MiB)",
      result.sent / MiB,
    );
    bound(t, "control-flood", "time until cut off (ms)", result.ms);
    bound(t, "control-flood", "primary RSS growth during the no-newline flood (MiB)", growth / MiB);
    bound(
      t,
      "control-flood",
      "tsctl status answers during the no-newline flood (ok/failed)",
      `${status.ok}/${status.failed}`,
    );
    bound(t, "control-flood", "slowest tsctl status during the no-newline flood (ms)", status.slowestMs);
    t.is(result.stop, "closed", "the server closed the connection before 1 GB");
    t.true(result.sent < 64 * MiB, "cut off soon after the 1 MiB line limit");
    const error = JSON.parse(first) as { id: null; error: { code: number; message: string } };
    t.is(error.id, null);
    t.true(
      error.error.code <= -32000 && error.error.code >= -32099,
      `application error code ${error.error.code}`,
    );
    t.true(growth < RSS_BUDGET, `growth ${(growth / MiB).toFixed(1)} MiB`);
    t.true(status.ok >= 1 && status.failed === 0, "tsctl status worked during the flood");
    t.is((await daemon.tsctl(["status"])).code, 0, "and after it");
  },
);

/**
 * 1 GB of short invalid lines from a client that never reads its answers. Each line earns a
 * ~75-byte -32700 answer; a server that writes them without looking at backpressure buffers
 * ~37 bytes per byte received for a client that does not read, i.e. without bound. The
 * contract (control.md: a bad client can only hurt its own connection; chat-protocol.md's
 * output limit for the same situation) calls for either backpressure (stop reading while the
 * answers are not taken) or cutting the client off.
 *
 * Found by this test: the control server used to write every answer without looking at
 * backpressure (2 MiB of "x\n" lines -> ~670 MiB more RSS in the primary, a 10 s stall of
 * `tsctl status`). It now stops reading a client whose answers are not taken.
 */
test.serial(
  "control flood - 1 GB of invalid lines from a client that does not read: the daemon's memory stays bounded",
  async (t) => {
    const pid = daemon.proc.pid!;
    const before = rssBytes(pid);
    const sampler = rssSampler([pid]);
    const s = await openControl();
    s.pause(); // never read the answers
    let running = true;
    const statuses = statusWhile(() => running);
    const result = await flood(s, {
      total: GB,
      deadlineMs: FLOOD_MS,
      chunk: patternChunk("x\n", 64 * 1024),
      abort: () => sampler.max - before > RSS_ABORT,
      // A server that stops reading for 10 s while its answers are not taken applies backpressure.
      stallMs: 10_000,
    });
    running = false;
    const status = await statuses;
    const growth = sampler.stop() - before;
    const closedByServer = s.destroyed || s.readableEnded;
    s.destroy();
    const after = await daemon.tsctl(["status"]);

    const outcome =
      result.stop === "aborted"
        ? "server buffered answers without bound (flood stopped at the RSS abort threshold)"
        : result.stop === "closed"
          ? "client cut off"
          : result.stop === "stalled"
            ? "throttled by backpressure (server stopped reading)"
            : "all read, answers buffered";
    bound(t, "control-flood", "outcome of 1 GB of invalid lines from a non-reading client", outcome);
    bound(t, "control-flood", "invalid-line bytes accepted by the server (MiB)", result.sent / MiB);
    bound(t, "control-flood", "time spent flooding invalid lines (ms)", result.ms);
    bound(t, "control-flood", "times the invalid-line flood had to wait for drain", result.drains);
    bound(t, "control-flood", "longest drain wait during the invalid-line flood (ms)", result.longestDrainMs);
    bound(t, "control-flood", "primary RSS growth during the invalid-line flood (MiB)", growth / MiB);
    bound(
      t,
      "control-flood",
      "tsctl status answers during the invalid-line flood (ok/failed)",
      `${status.ok}/${status.failed}`,
    );
    bound(t, "control-flood", "slowest tsctl status during the invalid-line flood (ms)", status.slowestMs);
    t.is(after.code, 0, "tsctl status works after the flood");
    t.true(status.failed === 0, "tsctl status never failed during the flood");
    t.not(result.stop, "aborted", "the server neither cut the client off nor applied backpressure");
    bound(t, "control-flood", "invalid-line flood closed by the server", closedByServer ? "yes" : "no");
    t.true(
      growth < RSS_BUDGET,
      `primary RSS grew ${(growth / MiB).toFixed(1)} MiB (budget ${RSS_BUDGET / MiB} MiB)`,
    );
  },
);
