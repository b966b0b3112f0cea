import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { IdentityStore } from "../../daemon/shared/identity-store.ts";
import { checkName } from "../../protocol/names.ts";

const cheap = { scrypt: { N: 1024, r: 1, p: 1 } };
const ACCOUNTS = 10_000;

async function tempFile(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "tsd-names-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, "identities.json");
}

/** An identity file of `count` accounts, written directly (hashing 10,000 passwords would test scrypt). */
async function writeAccounts(file: string, names: string[]): Promise<void> {
  const password = { algo: "scrypt", N: 1024, r: 1, p: 1, keylen: 32, salt: "AA==", hash: "AA==" };
  const users: Record<string, unknown> = {};
  for (const name of names) {
    const checked = checkName(name);
    if (!checked.ok) throw new Error(checked.reason);
    users[checked.key] = {
      name,
      createdAt: new Date(0).toISOString(),
      lastLoginAt: null,
      lastAddress: null,
      password,
    };
  }
  await writeFile(file, JSON.stringify({ version: 1, users }), { mode: 0o600 });
}

function candidate(name: string): { key: string; skeletons: string[] } {
  const checked = checkName(name);
  if (!checked.ok) throw new Error(checked.reason);
  return checked;
}

test("name conflicts - a look-alike of any of 10,000 accounts is found; the index costs one pass per file version", async (t) => {
  const file = await tempFile(t);
  const names = Array.from({ length: ACCOUNTS - 1 }, (_, i) => `user${i}`);
  await writeAccounts(file, [...names, "paypal"]);
  const store = new IdentityStore(file, cheap);
  t.teardown(() => store.close());
  const fake = candidate("раураӏ");

  await store.check(); // the file read and parsed: what every sign-in already pays after a change
  let started = performance.now();
  t.is(await store.nameConflict(fake.key, fake.skeletons), "look-alike", "the last account, not a sample");
  const firstIndexMs = performance.now() - started;

  started = performance.now();
  const checks = 1000;
  for (let i = 0; i < checks; i++) await store.nameConflict(`new${i}`, candidate(`new${i}`).skeletons);
  const perCheckUs = ((performance.now() - started) * 1000) / checks;

  // Another version of the file (one more account): the index is rebuilt from remembered skeletons.
  t.is(await store.register("pope", "pope", "secret", "10.0.0.1"), "ok");
  started = performance.now();
  t.is(await store.nameConflict(candidate("роре").key, candidate("роре").skeletons), "look-alike");
  const rebuildMs = performance.now() - started;

  t.log(
    `${ACCOUNTS} accounts: index built in ${firstIndexMs.toFixed(1)} ms, rebuilt after a change in ${rebuildMs.toFixed(1)} ms (file read included), ${perCheckUs.toFixed(1)} µs a check (skeleton included)`,
  );
  t.true(
    firstIndexMs < 5000 && rebuildMs < 5000 && perCheckUs < 5000,
    "generous bounds; the figures are in the log",
  );
});

test("name conflicts - reserved names, and a look-alike refused by register itself", async (t) => {
  const file = await tempFile(t);
  const store = new IdentityStore(file, { ...cheap, reservedNames: ["moderator"] });
  t.teardown(() => store.close());
  const check = (name: string) => {
    const c = candidate(name);
    return store.nameConflict(c.key, c.skeletons);
  };
  t.is(await check("server"), "reserved");
  t.is(await check("Moderator"), "reserved");
  t.is(await check("alice"), undefined);
  t.is(await store.register("server", "server", "secret", "10.0.0.1"), "taken");
  t.is(await store.register("moderator", "moderator", "secret", "10.0.0.1"), "taken");
  t.is(await store.register("alice", "alice", "secret", "10.0.0.1"), "ok");
  t.is(await check("аӏісе"), "look-alike");
  t.is(await check("alice"), undefined, "the account itself is no conflict (it signs in)");
  t.is(await store.register("аӏісе", "аӏісе", "secret", "10.0.0.2"), "taken", "register checks too");
  t.deepEqual(
    (await store.list()).map((u) => u.name),
    ["alice"],
  );
});
