/**
 * Control answers are bounded (control.md): a request whose answer would be huge gets a
 * truncated answer that says so, or an error; no request ends the daemon.
 *
 * Found by issue 10 item 2: a batch of 60 `logs.tail {lines: 100000}` on a 62 MB log made
 * JSON.stringify pass V8's string limit in a promise nothing caught, and the primary died.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import test from "ava";
import { MAX_ANSWER_BYTES, MAX_TAIL_BYTES } from "../../protocol/rpc.ts";
import { ROOT, type RunningDaemon, rssBytes, shape, startDaemon } from "../helpers/daemon.ts";
import { bound, MiB, rssSampler } from "./helpers.ts";

const LOG_BYTES = 64 * MiB;
const LINE = `${"2026-01-01T00:00:00.000Z info  main filler ".padEnd(639, "x")}\n`;

let daemon: RunningDaemon;

test.before(async () => {
  daemon = await startDaemon([...shape(1, 1), "--no-echo"]);
  // ~100,000 lines of 640 bytes appended to the daemon's own log, written in 1 MiB blocks.
  const block = Buffer.from(LINE.repeat(Math.floor(MiB / LINE.length)));
  const fd = fs.openSync(path.join(daemon.logDir, "tsd.log"), "a");
  try {
    for (let written = 0; written < LOG_BYTES; written += block.length) fs.writeSync(fd, block);
  } finally {
    fs.closeSync(fd);
  }
});
test.after.always(async () => {
  await daemon?.cleanup();
});

/**
 * Sends request lines on one fresh control connection; resolves with the bytes of the first
 * `count` answer lines (fewer if the connection closed first).
 */
function ask(requests: unknown[], count = 1, timeoutMs = 60_000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(daemon.socket);
    const parts: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    const lines = (): Buffer[] => {
      const all = Buffer.concat(parts);
      const found: Buffer[] = [];
      for (let start = 0, nl = all.indexOf(10); nl !== -1; start = nl + 1, nl = all.indexOf(10, start)) {
        found.push(all.subarray(start, nl));
      }
      return found;
    };
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(lines().slice(0, count));
    };
    socket.on("data", (chunk: Buffer) => {
      parts.push(chunk);
      if (chunk.includes(10) && lines().length >= count) finish();
    });
    socket.on("close", finish);
    socket.on("error", () => {});
    socket.write(requests.map((r) => `${JSON.stringify(r)}\n`).join(""));
  });
}

interface TailAnswer {
  id: number;
  result?: { lines: string[]; truncated: boolean };
  error?: { code: number; message: string };
}

test.serial(
  "control answers - one logs.tail of 100,000 lines on a 64 MiB log is truncated and says so",
  async (t) => {
    const [raw] = await ask([{ jsonrpc: "2.0", id: 1, method: "logs.tail", params: { lines: 100_000 } }]);
    t.truthy(raw, "an answer, not a closed connection");
    const answer = JSON.parse(raw!.toString("utf8")) as TailAnswer;
    bound(t, "control-answers", "bytes of one logs.tail {lines: 100000} answer on a 64 MiB log", raw!.length);
    bound(t, "control-answers", "lines in that answer", answer.result?.lines.length ?? 0);
    t.is(answer.result?.truncated, true);
    t.true(answer.result!.lines.length > 0 && answer.result!.lines.length < 100_000);
    t.true(
      answer.result!.lines.every((line) => line === LINE.slice(0, -1)),
      "whole lines only",
    );
    t.true(raw!.length <= MAX_ANSWER_BYTES);
    const [small] = await ask([{ jsonrpc: "2.0", id: 2, method: "logs.tail", params: { lines: 3 } }]);
    t.like(JSON.parse(small!.toString("utf8")), { result: { truncated: false } });
  },
);

test.serial(
  "control answers - a batch of 60 logs.tail {lines: 100000}: a bounded answer, the daemon lives on",
  async (t) => {
    const batch = Array.from({ length: 60 }, (_, i) => ({
      jsonrpc: "2.0",
      id: i,
      method: "logs.tail",
      params: { lines: 100_000 },
    }));
    const pid = daemon.proc.pid!;
    const before = rssBytes(pid);
    const sampler = rssSampler([pid]);
    const started = Date.now();
    const [raw] = await ask([batch]);
    const growth = sampler.stop() - before;
    bound(t, "control-answers", "time to answer the batch of 60 logs.tail (ms)", Date.now() - started);
    bound(t, "control-answers", "primary RSS growth while answering the batch (MiB)", growth / MiB);
    t.true(growth < 256 * MiB, `primary RSS grew ${(growth / MiB).toFixed(1)} MiB`);
    t.truthy(raw, "an answer, not a closed connection");
    bound(t, "control-answers", "bytes of the batch's answer", raw!.length);
    t.true(raw!.length <= MAX_ANSWER_BYTES + 60 * 256, `${raw!.length} bytes`);
    const answers = JSON.parse(raw!.toString("utf8")) as TailAnswer[];
    t.is(answers.length, 60);
    t.deepEqual(
      answers.map((a) => a.id),
      batch.map((r) => r.id),
    );
    const full = answers.filter((a) => a.result);
    const refused = answers.filter((a) => a.error);
    bound(
      t,
      "control-answers",
      "batch members answered with lines / with an error",
      `${full.length}/${refused.length}`,
    );
    t.true(full.length >= 1, "the first members are answered");
    t.true(refused.length >= 1, "the rest are refused");
    t.true(
      refused.every(
        (a) => a.error!.code <= -32000 && a.error!.code >= -32099 && /bytes/.test(a.error!.message),
      ),
    );
    t.is(daemon.proc.exitCode, null, "the daemon is still running");
    const status = await daemon.tsctl(["status", "--json"]);
    t.is(status.code, 0, status.stderr);
    t.is(JSON.parse(status.stdout).pid, daemon.proc.pid);
  },
);

test.serial(
  "control answers - a batch over the count bound gets one error; the connection's next request is answered",
  async (t) => {
    const batch = Array.from({ length: 5000 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "status" }));
    const [over, next] = await ask([batch, { jsonrpc: "2.0", id: "next", method: "status" }], 2);
    const answer = JSON.parse(over!.toString("utf8")) as {
      id: null;
      error: { code: number; message: string };
    };
    t.is(answer.id, null);
    t.regex(answer.error.message, /batch of 5000 requests .* bound of 1000/);
    t.like(JSON.parse(next!.toString("utf8")), { id: "next", result: { pid: daemon.proc.pid } });
  },
);

test.serial(
  "control answers - tsctl logs -n 100000 prints the lines that fit and a note that says the rest were left out",
  async (t) => {
    // Not daemon.tsctl: its 1 MiB output buffer is smaller than the answer.
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, "bin", "tsctl.js"), "--socket", daemon.socket, "logs", "-n", "100000"],
        { maxBuffer: 2 * MAX_ANSWER_BYTES, timeout: 30_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
      );
    });
    t.is(result.code, 0, result.stderr);
    const printed = result.stdout.split("\n").filter(Boolean).length;
    t.true(printed > 0 && printed < 100_000);
    t.true(result.stdout.length <= MAX_TAIL_BYTES + printed);
    t.regex(result.stderr, /truncated: only the last \d+ of the 100000 lines/);
  },
);
