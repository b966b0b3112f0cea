import { type ChildProcess, spawn } from "node:child_process";
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
async function holder(t: ExecutionContext, dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [holderScript, dir], { stdio: ["ignore", "pipe", "inherit"] });
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
  t.deepEqual(fs.readdirSync(dir), [], "no lock file was ever left in the directory");
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
