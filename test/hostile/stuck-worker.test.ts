import test from "ava";
import type { StatusResult } from "../../protocol/rpc.ts";
import { ChatClient } from "../helpers/chat-client.ts";
import { MANY_REGISTRATIONS, shape, startDaemon, waitFor } from "../helpers/daemon.ts";

test("stuck worker - a worker process that is stopped is killed and replaced; chat comes back", async (t) => {
  const daemon = await startDaemon([
    ...shape(1, 1),
    "--no-echo",
    "--thread-timeout",
    "2",
    ...MANY_REGISTRATIONS,
  ]);
  t.teardown(() => daemon.cleanup());
  const status = async () => JSON.parse((await daemon.tsctl(["status", "--json"])).stdout) as StatusResult;
  const before = (await status()).workers[0]!.pid;
  const alice = await ChatClient.connect(daemon.chatPort);
  await alice.register("alice", "secret1");

  process.kill(before, "SIGSTOP");
  t.teardown(() => {
    try {
      process.kill(before, "SIGCONT");
    } catch {}
  });
  const started = Date.now();
  const after = await waitFor(
    async () => {
      const w = (await status()).workers[0];
      return w && w.pid !== before && w.threads === 1 ? w.pid : null;
    },
    60_000,
    "a new worker process with its thread",
  );
  t.log(`BOUND stuck worker: replaced ${Date.now() - started} ms after SIGSTOP (--thread-timeout 2)`);
  t.not(after, before);
  t.regex(daemon.stdout(), /worker process not restarting its thread; killing it/);
  await alice.closedByServer(30_000);
  const back = await ChatClient.connect(daemon.chatPort);
  await back.signIn("alice", "secret1");
  back.close();
});
