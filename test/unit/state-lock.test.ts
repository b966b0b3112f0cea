import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test, { type ExecutionContext } from "ava";
import { lockStateDir, StateDirInUse } from "../../daemon/primary/state-lock.ts";

const holderScript = fileURLToPath(new URL("fixtures/state-lock-holder.ts", import.meta.url));

function tempDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-state-lock-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A process that holds the lock on dir, started and waited for. */
async function holder(t: ExecutionContext, dir: string, wrap: string[] = []): Promise<ChildProcess> {
  const [command, ...args] = [...wrap, process.execPath, holderScript, dir];
  const child = spawn(command!, args, { stdio: ["ignore", "pipe", "inherit"] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("locked")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`holder exited with ${code}`)));
  });
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

test("state lock - a second lock on the directory is refused naming the holder's pid, by any path to it", async (t) => {
  const dir = tempDir(t);
  const lock = await lockStateDir(dir);
  const refused = await t.throwsAsync(lockStateDir(dir), { instanceOf: StateDirInUse });
  t.is(refused.pid, process.pid);
  t.is(
    refused.message,
    `the state directory ${dir} is in use by another tsd-daemon (pid ${process.pid}); stop it or pick another --state-dir`,
  );
  const link = path.join(tempDir(t), "link");
  fs.symlinkSync(dir, link);
  await t.throwsAsync(lockStateDir(link), { instanceOf: StateDirInUse });
  await t.throwsAsync(lockStateDir(`${dir}/./`), { instanceOf: StateDirInUse });
  await lock.release();
  const again = await lockStateDir(dir);
  await again.release();
});

test("state lock - other directories are independent", async (t) => {
  const a = await lockStateDir(tempDir(t));
  const b = await lockStateDir(tempDir(t));
  await a.release();
  await b.release();
  t.pass();
});

test("state lock - a holder killed with SIGKILL leaves nothing to clean: the lock is taken at once", async (t) => {
  const dir = tempDir(t);
  const child = await holder(t, dir);
  const refused = await t.throwsAsync(lockStateDir(dir), { instanceOf: StateDirInUse });
  t.is(refused.pid, child.pid!);
  child.kill("SIGKILL");
  await exited(child);
  const started = Date.now();
  const lock = await lockStateDir(dir);
  t.log(`BOUND state lock: taken after the holder's kill -9 in = ${Date.now() - started} ms`);
  t.deepEqual(fs.readdirSync(dir), ["tsd.lock.sock"], "only the new holder's socket, no takeover lock left");
  await lock.release();
});

test("state lock - a holder that cannot answer (stopped) still holds it; the refusal comes within seconds", async (t) => {
  const dir = tempDir(t);
  const child = await holder(t, dir);
  child.kill("SIGSTOP");
  t.teardown(() => child.kill("SIGCONT"));
  const started = Date.now();
  const refused = await t.throwsAsync(lockStateDir(dir), { instanceOf: StateDirInUse });
  const ms = Date.now() - started;
  t.is(refused.pid, null);
  t.regex(refused.message, /in use by another process, which did not say its pid/);
  t.true(ms < 10_000, `refused after ${ms} ms`);
  child.kill("SIGCONT");
  child.kill("SIGKILL");
  await exited(child);
});

/** Whether this process may make a network namespace (root with util-linux's unshare). */
function canUnshareNet(): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  return spawnSync("unshare", ["-n", "true"]).status === 0;
}

test("state lock - a holder in another network namespace (a container, PrivateNetwork=) still holds it", async (t) => {
  if (!canUnshareNet()) {
    t.pass("skipped: needs root and unshare(1) to start a holder in its own network namespace");
    return;
  }
  const dir = tempDir(t);
  const child = await holder(t, dir, ["unshare", "-n"]);
  const refused = await t.throwsAsync(lockStateDir(dir), { instanceOf: StateDirInUse });
  t.regex(refused.message, /in use by another/);
  child.kill("SIGKILL");
});

test("state lock - two takers of a stale lock at once: exactly one gets it", async (t) => {
  const dir = tempDir(t);
  const child = await holder(t, dir);
  child.kill("SIGKILL");
  await exited(child);
  const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => lockStateDir(dir)));
  const taken = outcomes.filter((o) => o.status === "fulfilled");
  t.is(taken.length, 1, "one holder");
  for (const o of outcomes)
    if (o.status === "rejected") t.true(o.reason instanceof StateDirInUse, String(o.reason));
  await (taken[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
});
