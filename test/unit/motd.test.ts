import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { MotdUnreadable, readMotd } from "../../daemon/primary/motd.ts";

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsd-motd-"));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("motd - a FIFO is refused at once, never waited on (it would hold a pool thread for ever)", async (t) => {
  if (process.platform === "win32") {
    t.pass("skipped: no FIFOs on Windows");
    return;
  }
  const fifo = path.join(tempDir(t), "motd.fifo");
  execFileSync("mkfifo", [fifo]);
  const error = await t.throwsAsync(readMotd(fifo), { instanceOf: MotdUnreadable });
  t.regex(error.message, /not a regular file/);
});

test("motd - a device is refused; a regular file is read", async (t) => {
  if (process.platform === "win32") {
    t.pass("skipped: no /dev/zero on Windows");
    return;
  }
  await t.throwsAsync(readMotd("/dev/zero"), { instanceOf: MotdUnreadable });
  const file = path.join(tempDir(t), "motd.txt");
  fs.writeFileSync(file, "welcome\nbe kind\n");
  t.deepEqual(await readMotd(file), { lines: ["welcome", "be kind"], cut: false });
});
