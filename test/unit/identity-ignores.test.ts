import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { IdentityStore } from "../../daemon/shared/identity-store.ts";
import { MAX_IGNORES } from "../../daemon/shared/limits.ts";

const cheap = { scrypt: { N: 1024, r: 1, p: 1 } };

async function tempFile(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "tsd-ignores-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, "identities.json");
}

test("identity ignores - kept in the account, read by another instance, names compared by key", async (t) => {
  const file = await tempFile(t);
  const a = new IdentityStore(file, cheap);
  await a.register("Olga", "olga", "secret", "10.0.0.1");
  t.deepEqual((await a.get("olga"))?.ignores, []);
  t.is(await a.setIgnored("olga", "Pest", true), "ok");
  t.is(await a.setIgnored("olga", "PEST", true), "unchanged");
  const b = new IdentityStore(file, cheap);
  t.deepEqual((await b.get("olga"))?.ignores, ["Pest"], "another thread's store reads the list");
  t.is(await b.setIgnored("olga", "pest", false), "ok");
  t.deepEqual((await a.get("olga"))?.ignores, []);
  t.is(await a.setIgnored("nobody", "x", true), "gone");
});

test("identity ignores - at most MAX_IGNORES, also when two stores add at once", async (t) => {
  const file = await tempFile(t);
  const a = new IdentityStore(file, cheap);
  const b = new IdentityStore(file, cheap);
  await a.register("zoe", "zoe", "secret", "10.0.0.1");
  const results = await Promise.all(
    Array.from({ length: MAX_IGNORES + 10 }, (_, i) => (i % 2 ? a : b).setIgnored("zoe", `n${i}`, true)),
  );
  t.is(results.filter((r) => r === "ok").length, MAX_IGNORES);
  t.is(results.filter((r) => r === "full").length, 10);
  t.is((await b.get("zoe"))?.ignores.length, MAX_IGNORES, "no change lost under the file's lock");
});

test("identity ignores - a malformed list in the file counts as none, and the file is still usable", async (t) => {
  const file = await tempFile(t);
  const a = new IdentityStore(file, cheap);
  await a.register("kim", "kim", "secret", "10.0.0.1");
  const data = JSON.parse(await readFile(file, "utf8"));
  data.users.kim.ignores = "not a list";
  await writeFile(file, JSON.stringify(data));
  t.deepEqual((await a.get("kim"))?.ignores, []);
  t.is(await a.setIgnored("kim", "bob", true), "ok");
  t.deepEqual((await a.get("kim"))?.ignores, ["bob"]);
});
