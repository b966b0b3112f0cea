/**
 * The daemon object in this process: a start that fails half-way (here its chat port is taken,
 * found once the state directory, the log and the history are open) undoes every step it took,
 * newest first, with the same teardown list a stop runs: workers gone, sockets removed, signal
 * handlers off, the state directory free for the next daemon at once.
 */
import cluster from "node:cluster";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import test from "ava";
import { Daemon } from "../../daemon/primary/daemon.ts";
import { parseDaemonOptions } from "../../daemon/primary/options.ts";
import { StartupError } from "../../daemon/primary/startup-error.ts";
import { lockStateDir } from "../../daemon/primary/state-lock.ts";
import { tempDir } from "../helpers/daemon.ts";

test("daemon start - a start that fails half-way undoes every step it took", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  t.teardown(() => taken.close());
  const port = (taken.address() as net.AddressInfo).port;
  const socket = path.join(dir, "run", "control.sock");
  const stateDir = path.join(dir, "state");
  const signalsBefore = ["SIGTERM", "SIGINT", "SIGHUP"].map((s) => process.listenerCount(s));

  const opts = await parseDaemonOptions([
    ...["--host", "127.0.0.1", "--chat-port", String(port), "--no-echo"],
    ...["--workers", "1", "--threads", "1", "--state-dir", stateDir, "--socket", socket],
    ...["--log-level", "warn"],
  ]);
  await t.throwsAsync(Daemon.start(opts), {
    instanceOf: StartupError,
    message: new RegExp(`port ${port} \\(chat\\) on 127\\.0\\.0\\.1 is already in use`),
  });

  t.deepEqual(Object.keys(cluster.workers ?? {}), [], "every worker process has exited");
  t.false(fs.existsSync(socket), "the control socket is removed");
  t.false(fs.existsSync(`${socket}.hub`), "the hub socket is removed");
  t.deepEqual(
    ["SIGTERM", "SIGINT", "SIGHUP"].map((s) => process.listenerCount(s)),
    signalsBefore,
    "the signal handlers are off",
  );
  const lock = await lockStateDir(stateDir);
  t.pass("the state directory's lock is free");
  await lock.release();
  t.true(fs.existsSync(path.join(stateDir, "tsd.log")), "the log was written and closed");
  t.regex(
    fs.readFileSync(path.join(stateDir, "tsd.log"), "utf8"),
    /port \d+ \(chat\) on 127\.0\.0\.1 is already in use/,
  );
});
