import { execFileSync } from "node:child_process";
import test from "ava";
import { ChatClient } from "../helpers/chat-client.ts";
import { shape, startDaemon, waitFor } from "../helpers/daemon.ts";

function hasPrlimit(): boolean {
  try {
    execFileSync("prlimit", ["--version"], { stdio: "ignore" });
    return process.platform === "linux";
  } catch {
    return false;
  }
}

const DESCRIPTORS = 300;

test("descriptors - a thread at its descriptor budget refuses with a word, logs it once a second, and serves after", async (t) => {
  if (!hasPrlimit()) {
    t.pass("skipped: needs Linux and prlimit (util-linux) to start the daemon with few descriptors");
    return;
  }
  const daemon = await startDaemon([...shape(1, 1), "--no-echo", "--max-per-address", "0"], {
    wrap: ["prlimit", `--nofile=${DESCRIPTORS}:${DESCRIPTORS}`],
  });
  t.teardown(() => daemon.cleanup());

  // More connections than the process has descriptors: without a budget the accepts past the
  // limit fail with EMFILE and libuv closes them silently.
  const flood = await Promise.all(
    Array.from({ length: DESCRIPTORS }, async () => {
      const c = await ChatClient.connect(daemon.chatPort);
      await c.line(/^(\* welcome|! the server is full)/, 30_000).catch(() => "");
      return c;
    }),
  );
  const full = flood.filter((c) => c.all.startsWith("! the server is full")).length;
  const greeted = flood.filter((c) => c.all.startsWith("* ")).length;
  t.is(full + greeted, DESCRIPTORS, "every connection got a word: a greeting or 'server is full'");
  t.true(full > 0, "some were refused");
  const logged = daemon.stdout().match(/connection refused: out of file descriptors/g)?.length ?? 0;
  t.true(logged >= 1 && logged <= 30, `logged at most once a second (${logged} lines)`);
  t.log(
    `BOUND descriptors: ${greeted} served, ${full} refused with a word at a limit of ${DESCRIPTORS}; ${logged} log lines`,
  );

  for (const c of flood) c.close();
  await waitFor(
    async () => {
      const c = await ChatClient.connect(daemon.chatPort);
      const line = await c.line(/^(\* welcome|! the server is full)/, 10_000).catch(() => "");
      c.close();
      return line.startsWith("* ");
    },
    30_000,
    "a greeting once the flood has gone",
  );
  t.notRegex(daemon.stdout(), /session thread died/, "the thread did not crash");
  t.is(daemon.proc.exitCode, null, "the daemon runs");
});
