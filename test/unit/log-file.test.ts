import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { LogFileTransport } from "../../daemon/primary/log/log-file.ts";
import { tempDir } from "../helpers/daemon.ts";

const MESSAGE = Symbol.for("message");

test("log file - records past the pending bound are left out, and the count is reported once the file catches up", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "tsd.log");
  const reports: number[] = [];
  const reported = Promise.withResolvers<void>();
  const transport = new LogFileTransport(file, {
    maxBytes: 0,
    keep: 0,
    maxPendingBytes: 64 * 1024,
    onFailure: (error) => t.fail(error.message),
    onDropped: (dropped) => {
      reports.push(dropped);
      reported.resolve();
    },
  });
  const record = "x".repeat(1023);
  // Written in one turn: the file cannot take any of it before the bound is passed.
  for (let i = 0; i < 200; i++) transport.log({ [MESSAGE]: record }, () => {});
  await reported.promise;
  const written = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).length;
  t.true(written > 0 && written < 200, `${written} of 200 written`);
  t.deepEqual(reports, [200 - written], "one report of every record left out");

  transport.log({ [MESSAGE]: "after" }, () => {});
  await transport.flush();
  t.true(fs.readFileSync(file, "utf8").endsWith("after\n"), "logging goes on into the file");
  t.deepEqual(reports, [200 - written], "nothing more to report");
});
