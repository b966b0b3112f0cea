import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";
import { IdentityFileCorrupt, IdentityStore } from "../../daemon/shared/identity-store.ts";

const run = promisify(execFile);
const cheap = { scrypt: { N: 1024, r: 1, p: 1 } };
const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "register-many.ts");

async function tempFile(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "tsd-identities-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, "identities.json");
}

function store(file: string): IdentityStore {
  return new IdentityStore(file, cheap);
}

test("identity store - a missing file is no users", async (t) => {
  const s = store(await tempFile(t));
  await t.notThrowsAsync(s.check());
  t.is(await s.get("alice"), undefined);
  t.deepEqual(await s.list(), []);
  t.is(await s.verify("alice", "secret"), null);
  t.is(await s.wipe(), 0);
});

test("identity store - register, get and verify", async (t) => {
  const s = store(await tempFile(t));
  t.is(await s.register("Alice", "alice", "secret", "10.0.0.1"), "ok");
  const alice = await s.get("alice");
  t.like(alice, { name: "Alice", key: "alice", lastLoginAt: null, lastAddress: "10.0.0.1" });
  t.false(Number.isNaN(Date.parse(alice!.createdAt)));
  t.like(alice!.password, { algo: "scrypt", N: 1024, r: 1, p: 1, keylen: 32 });
  t.is((await s.verify("alice", "secret"))?.name, "Alice");
  t.is(await s.verify("alice", "Secret"), null);
  t.is(await s.verify("bob", "secret"), null);
});

test("identity store - a taken key is refused, also when two stores race for it", async (t) => {
  const file = await tempFile(t);
  const a = store(file);
  const b = store(file);
  t.is(await a.register("Alice", "alice", "one", "10.0.0.1"), "ok");
  t.is(await a.register("ALICE", "alice", "two", "10.0.0.2"), "taken");
  const results = await Promise.all([a.register("Bob", "bob", "x", "a"), b.register("BOB", "bob", "y", "b")]);
  t.deepEqual([...results].sort(), ["ok", "taken"]);
  t.is((await a.list()).length, 2);
  t.truthy(await a.verify("alice", "one"));
});

test("identity store - list is sorted by name and never carries a key, hash or salt", async (t) => {
  const s = store(await tempFile(t));
  await s.register("carol", "carol", "pw-c", "c");
  await s.register("Alice", "alice", "pw-a", "a");
  await s.register("bob", "bob", "pw-b", "b");
  const list = await s.list();
  t.deepEqual(
    list.map((u) => u.name),
    ["Alice", "bob", "carol"],
  );
  const json = JSON.stringify(list);
  t.false(json.includes("hash"));
  t.false(json.includes("salt"));
  t.false(json.includes("password"));
  t.deepEqual(Object.keys(list[0]!).sort(), ["createdAt", "lastAddress", "lastLoginAt", "name"]);
});

test("identity store - the file is mode 0600 and no lock or temp files are left behind", async (t) => {
  const file = await tempFile(t);
  const s = store(file);
  await s.register("Alice", "alice", "secret", "a");
  await s.recordLogin("alice", "b");
  t.is((await stat(file)).mode & 0o777, 0o600);
  t.deepEqual(await readdir(path.dirname(file)), ["identities.json"]);
  const data = JSON.parse(await readFile(file, "utf8"));
  t.is(data.version, 1);
  t.is(data.users.alice.name, "Alice");
});

test("identity store - a change written by another instance is seen", async (t) => {
  const file = await tempFile(t);
  const a = store(file);
  const b = store(file);
  t.is(await a.get("bob"), undefined); // a caches "no such file"
  await b.register("Bob", "bob", "secret", "10.0.0.2");
  t.is((await a.get("bob"))?.name, "Bob");
  await b.recordLogin("bob", "10.0.0.3"); // same size, new inode
  t.is((await a.get("bob"))?.lastAddress, "10.0.0.3");
  t.true(await b.setPassword("bob", "changed"));
  t.truthy(await a.verify("bob", "changed"));
  t.is(await a.verify("bob", "secret"), null);
  await b.wipe();
  t.is(await a.get("bob"), undefined);
});

test("identity store - an edit in place (same inode) is seen", async (t) => {
  const file = await tempFile(t);
  const a = store(file);
  await a.register("Bob", "bob", "secret", "10.0.0.2");
  t.is((await a.get("bob"))?.name, "Bob");
  const data = JSON.parse(await readFile(file, "utf8"));
  data.users.bob.name = "Robert";
  await writeFile(file, JSON.stringify(data));
  t.is((await a.get("bob"))?.name, "Robert");
});

test("identity store - a corrupt file is an error and is never overwritten", async (t) => {
  const file = await tempFile(t);
  const bytes = '{\n  "version": 1,\n  "users": {,\n}\n';
  await writeFile(file, bytes, { mode: 0o600 });
  const s = store(file);
  const err = await t.throwsAsync(s.check(), { instanceOf: IdentityFileCorrupt });
  t.regex(err!.message, /identities\.json is not valid JSON \(line 3\)/);
  t.regex(err!.message, /never overwrites/);
  await t.throwsAsync(s.register("Alice", "alice", "secret", "a"), { instanceOf: IdentityFileCorrupt });
  await t.throwsAsync(s.recordLogin("alice", "a"), { instanceOf: IdentityFileCorrupt });
  await t.throwsAsync(s.setPassword("alice", "x"), { instanceOf: IdentityFileCorrupt });
  await t.throwsAsync(s.wipe(), { instanceOf: IdentityFileCorrupt });
  await t.throwsAsync(s.get("alice"), { instanceOf: IdentityFileCorrupt });
  t.is(await readFile(file, "utf8"), bytes);
  t.deepEqual(await readdir(path.dirname(file)), ["identities.json"]);
});

test("identity store - a well-formed file of the wrong shape is corrupt too", async (t) => {
  const file = await tempFile(t);
  const s = store(file);
  for (const [text, pattern] of [
    ["[]", /not a JSON object/],
    ['{"version":2,"users":{}}', /version 2/],
    ['{"version":1}', /"users"/],
    ['{"version":1,"users":{"bob":{"createdAt":"x"}}}', /user "bob" without a name/],
    ["", /empty/],
  ] as const) {
    await writeFile(file, text);
    await t.throwsAsync(s.check(), { instanceOf: IdentityFileCorrupt, message: pattern });
    await t.throwsAsync(s.wipe(), { instanceOf: IdentityFileCorrupt });
    t.is(await readFile(file, "utf8"), text);
  }
});

test("identity store - wipe empties the file and returns how many were removed", async (t) => {
  const file = await tempFile(t);
  const s = store(file);
  await s.register("Alice", "alice", "pw", "a");
  await s.register("Bob", "bob", "pw", "b");
  t.is(await s.wipe(), 2);
  t.deepEqual(JSON.parse(await readFile(file, "utf8")), { version: 1, users: {} });
  t.deepEqual(await s.list(), []);
  t.is(await s.wipe(), 0);
});

test("identity store - unknown fields in the file survive a rewrite", async (t) => {
  const file = await tempFile(t);
  const s = store(file);
  await s.register("Alice", "alice", "pw", "a");
  const data = JSON.parse(await readFile(file, "utf8"));
  data.note = "kept";
  data.users.alice.colour = "blue";
  await writeFile(file, JSON.stringify(data));
  await s.recordLogin("alice", "b");
  const after = JSON.parse(await readFile(file, "utf8"));
  t.is(after.note, "kept");
  t.is(after.users.alice.colour, "blue");
  t.is(after.users.alice.lastAddress, "b");
});

test("identity store - 100 parallel registrations from 4 instances lose none", async (t) => {
  const file = await tempFile(t);
  const stores = [store(file), store(file), store(file), store(file)];
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => stores[i % 4]!.register(`user${i}`, `user${i}`, "pw", `a${i}`)),
  );
  t.true(results.every((r) => r === "ok"));
  const data = JSON.parse(await readFile(file, "utf8"));
  t.is(Object.keys(data.users).length, 100);
  for (const s of stores) t.is((await s.list()).length, 100);
});

test("identity store - rememberedName is the most recent sign-in from an address", async (t) => {
  const file = await tempFile(t);
  const s = store(file);
  const other = store(file);
  await s.register("Alice", "alice", "pw", "10.0.0.9");
  await s.register("Bob", "bob", "pw", "10.0.0.9");
  await s.register("Carol", "carol", "pw", "10.0.0.7");
  t.is(await s.rememberedName("10.0.0.1"), undefined);
  await s.recordLogin("alice", "10.0.0.1");
  await new Promise((resolve) => setTimeout(resolve, 5));
  await s.recordLogin("bob", "10.0.0.1");
  t.is(await s.rememberedName("10.0.0.1"), "Bob");
  await new Promise((resolve) => setTimeout(resolve, 5));
  await other.recordLogin("alice", "10.0.0.1"); // from another instance: seen through the cache check
  t.is(await s.rememberedName("10.0.0.1"), "Alice");
  t.is(await s.rememberedName("10.0.0.7"), "Carol");
});

test("identity store - setPassword changes the password of an existing user only", async (t) => {
  const s = store(await tempFile(t));
  await s.register("Alice", "alice", "old", "a");
  t.false(await s.setPassword("bob", "new"));
  t.true(await s.setPassword("alice", "new"));
  t.truthy(await s.verify("alice", "new"));
  t.is(await s.verify("alice", "old"), null);
});

test("identity store - values handed out are copies, not the cache", async (t) => {
  const s = store(await tempFile(t));
  await s.register("Alice", "alice", "pw", "a");
  const alice = await s.get("alice");
  alice!.name = "Mallory";
  alice!.password.hash = "";
  t.is((await s.get("alice"))?.name, "Alice");
  t.truthy(await s.verify("alice", "pw"));
});

test("identity store - 3 processes registering 20 names each lose none", async (t) => {
  const file = await tempFile(t);
  const children = ["p", "q", "r"].map((prefix) => run(process.execPath, [fixture, file, prefix, "20"]));
  const outputs = await Promise.all(children);
  t.deepEqual(
    outputs.map((o) => o.stdout.trim()),
    ["20", "20", "20"],
  );
  const data = JSON.parse(await readFile(file, "utf8"));
  t.is(data.version, 1);
  t.is(Object.keys(data.users).length, 60);
  const list = await store(file).list();
  t.is(list.length, 60);
  for (const prefix of ["p", "q", "r"]) {
    for (let i = 0; i < 20; i++)
      t.true(
        list.some((u) => u.name === `${prefix}${i}`),
        `${prefix}${i}`,
      );
  }
  t.is((await stat(file)).mode & 0o777, 0o600);
});
