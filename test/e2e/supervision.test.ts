import test from "ava";
import { alive, waitFor } from "../helpers/daemon.ts";
import { connect, echoRoundTrip } from "../helpers/sockets.ts";
import { useDaemon } from "../helpers/use-daemon.ts";

test("supervision - kill -9 of a worker: the others keep serving and a new worker appears", async (t) => {
  const d = await useDaemon(t, ["--no-chat", "--workers", "2", "--threads", "1", "--max-per-address", "0"]);
  const daemon = d.daemon;
  const sockets = await Promise.all(Array.from({ length: 40 }, () => connect(daemon.echoPort)));
  const counted = await d.until(
    (s) => s.sessions.echo === 40 && s.workers.every((w) => w.sessions > 0),
    "sessions on both workers",
  );
  const victim = counted.workers[0]!;
  const survivor = counted.workers[1]!;
  process.kill(victim.pid, "SIGKILL");

  // Sockets on the dead worker close; every other one still echoes.
  await waitFor(() => !alive(victim.pid), 15_000, "the killed worker to be gone");
  // A socket of the dead worker closes (its round trip rejects at once); the others echo.
  const results = await Promise.allSettled(
    sockets.map((s, i) => echoRoundTrip(s, Buffer.from(`after ${i}\n`), 20_000)),
  );
  const ok = results.filter((r) => r.status === "fulfilled").length;
  t.is(ok, survivor.sessions, "exactly the survivor's clients still echo");

  const replaced = await d.until(
    (s) =>
      s.workers.length === 2 &&
      !s.workers.some((w) => w.pid === victim.pid) &&
      s.workers.every((w) => w.threads === 1),
    "a replacement worker in status",
  );
  t.true(replaced.workers.some((w) => w.id !== victim.id && w.id !== survivor.id));
  const fresh = await connect(daemon.echoPort);
  t.deepEqual(await echoRoundTrip(fresh, Buffer.from("still here\n")), Buffer.from("still here\n"));
  for (const s of [...sockets, fresh]) s.destroy();
  t.regex(
    await waitFor(() => /worker died; restarting/.test(daemon.stdout()) && daemon.stdout(), 15_000, "log"),
    /worker died/,
  );
});

test("supervision - kill -9 of the primary leaves no worker process behind", async (t) => {
  const d = await useDaemon(t, ["--no-chat", "--workers", "2", "--threads", "2"]);
  const workerPids = (await d.status()).workers.map((w) => w.pid);
  t.is(workerPids.length, 2);
  d.daemon.proc.kill("SIGKILL");
  await waitFor(() => workerPids.every((pid) => !alive(pid)), 15_000, "every worker to exit");
  t.false(workerPids.some(alive));
});
