import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { waitFor } from "../helpers/daemon.ts";
import { connect } from "../helpers/sockets.ts";
import { useDaemon } from "../helpers/use-daemon.ts";
import { bound, flood, MiB } from "./helpers.ts";

/**
 * The server answers some telnet requests every time they come (DO TIMING-MARK, a DO or DONT
 * SUPPRESS-GO-AHEAD that changes it): a client that sends nothing but such requests and never
 * reads would have the server buffer the answers, byte for byte, for as long as it sends. The
 * answers count against the output limit like any output, so it is cut off there.
 */
const d = useDaemon(test, ["--no-echo"]);

const DO_SGA_DONT_SGA_DO_TM = Buffer.from([255, 253, 3, 255, 254, 3, 255, 253, 6]);

test("hostile - telnet requests from a client that never reads: cut off at the output limit, their answers not buffered without bound", async (t) => {
  const socket = await connect(d.daemon.chatPort);
  t.teardown(() => socket.destroy());
  socket.on("error", () => {});
  socket.pause(); // never reads: the answers pile up at the server
  const chunk = Buffer.concat(Array.from({ length: 8192 }, () => DO_SGA_DONT_SGA_DO_TM));
  const result = await flood(socket, { total: 256 * MiB, deadlineMs: 120_000, chunk });
  bound(t, "telnet answers", "MiB of requests sent before the cut-off (answers: as many)", result.sent / MiB);
  t.is(
    result.stop,
    "closed",
    `the server never cut the client off (${result.stop} after ${result.sent} bytes)`,
  );
  t.true(result.sent < 128 * MiB, `${result.sent} bytes of requests read and answered before the cut-off`);
  const logFile = path.join(d.daemon.logDir, "tsd.log");
  await waitFor(
    () => /output limit reached/.test(fs.readFileSync(logFile, "utf8")),
    30_000,
    "the output limit's line in the log",
  );
});
