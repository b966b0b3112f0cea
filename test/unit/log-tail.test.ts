import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { readLastLines } from "../../daemon/primary/log/log-tail.ts";
import { tempDir } from "../helpers/daemon.ts";

function file(t: { teardown(fn: () => void): void }, content: string): string {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const name = path.join(dir, "tsd.log");
  fs.writeFileSync(name, content);
  return name;
}

test("log tail - the last n lines, whole, with or without a final line end", async (t) => {
  t.deepEqual(await readLastLines(file(t, "a\nb\nc\n"), 2), { lines: ["b", "c"], truncated: false });
  t.deepEqual(await readLastLines(file(t, "a\nb\nc"), 2), { lines: ["b", "c"], truncated: false });
  t.deepEqual(await readLastLines(file(t, "a\nb\n"), 5), { lines: ["a", "b"], truncated: false });
  t.deepEqual(await readLastLines(path.join(path.dirname(file(t, "")), "missing.log"), 5), {
    lines: [],
    truncated: false,
  });
});

test("log tail - lines past maxBytes are left out and the tail says truncated", async (t) => {
  const name = file(t, "1111\n2222\n3333\n");
  // Exactly two lines fit in 10 bytes: the window starts on a line boundary.
  t.deepEqual(await readLastLines(name, 3, 10), { lines: ["2222", "3333"], truncated: true });
  t.deepEqual(await readLastLines(name, 3, 9), { lines: ["3333"], truncated: true });
  t.deepEqual(await readLastLines(name, 1, 9), { lines: ["3333"], truncated: false });
  t.deepEqual(await readLastLines(name, 3, 15), { lines: ["1111", "2222", "3333"], truncated: false });
  // A last line longer than the bound: nothing fits, and the answer says so.
  t.deepEqual(await readLastLines(file(t, `${"x".repeat(100)}\n`), 1, 50), { lines: [], truncated: true });
});

test("log tail - a large file is read only as far as the bound", async (t) => {
  const line = `${"y".repeat(99)}\n`;
  const name = file(t, line.repeat(50_000)); // ~5 MB
  const tail = await readLastLines(name, 50_000, 64 * 1024);
  t.true(tail.truncated);
  t.is(tail.lines.length, Math.floor((64 * 1024) / line.length));
  t.true(tail.lines.every((l) => l === line.slice(0, -1)));
});
