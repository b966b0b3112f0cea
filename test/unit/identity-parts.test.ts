import fs from "node:fs";
import path from "node:path";
import test from "ava";
import { writeFileAtomically } from "../../daemon/shared/atomic-write.ts";
import {
  parseIdentityFile,
  type StoredUser,
  serializeIdentityFile,
} from "../../daemon/shared/identities/identity-file.ts";
import { LoginBatch, type Login } from "../../daemon/shared/identities/login-batch.ts";
import { AddressIndex, LookAlikeIndex } from "../../daemon/shared/identities/name-indexes.ts";
import { nameKey, nameSkeletons } from "../../protocol/names.ts";
import { tempDir } from "../helpers/daemon.ts";

const user = (name: string, over: Partial<StoredUser> = {}): StoredUser => ({
  name,
  createdAt: "2024-01-01T00:00:00.000Z",
  lastLoginAt: null,
  lastAddress: null,
  password: { algo: "scrypt" } as StoredUser["password"],
  ...over,
});

test("identity file - what is wrong is said in words, with the line of a JSON error", (t) => {
  const problem = (text: string) => {
    const parsed = parseIdentityFile(text);
    return "problem" in parsed ? parsed.problem : "parsed";
  };
  t.is(problem(""), "is empty (expected a JSON object)");
  t.regex(problem('{\n  "version": 1,\n  "users": {\n'), /^is not valid JSON \(line 4\)/);
  t.is(problem("[]"), "is not a JSON object");
  t.is(problem('{"version": 2, "users": {}}'), "has version 2; this tsd reads version 1");
  t.is(
    problem('{"version": 1, "users": {"a": {"name": "a", "createdAt": "x"}}}'),
    'has a user "a" whose lastLoginAt or lastAddress is not a string or null',
  );
});

test("identity file - unknown fields, top-level and per user, survive a parse and serialize", (t) => {
  const text = serializeIdentityFile({
    users: new Map([["ann", user("Ann", { colour: "red" })]]),
    extra: { note: "kept" },
  });
  const parsed = parseIdentityFile(text);
  if ("problem" in parsed) return t.fail(parsed.problem);
  t.deepEqual(parsed.extra, { note: "kept" });
  t.is(parsed.users.get("ann")?.colour, "red");
  t.is(serializeIdentityFile(parsed), text);
});

test("login batch - sign-ins close together are one write; the latest of an account wins", async (t) => {
  const writes: ReadonlyMap<string, Login>[] = [];
  const batch = new LoginBatch(async (logins) => void writes.push(logins), 5);
  const first = batch.record("ann", { at: "1", address: "10.0.0.1" });
  batch.record("bob", { at: "2", address: "10.0.0.2" });
  batch.record("ann", { at: "3", address: "10.0.0.3" });
  await first;
  t.deepEqual(
    writes.map((w) => [...w]),
    [
      [
        ["ann", { at: "3", address: "10.0.0.3" }],
        ["bob", { at: "2", address: "10.0.0.2" }],
      ],
    ],
  );
  batch.record("cid", { at: "4", address: "10.0.0.4" });
  await batch.flush();
  t.is(writes.length, 2, "a sign-in after the batch was written starts the next");
  await batch.flush();
  t.is(writes.length, 2, "flush with nothing pending writes nothing");
});

test("login batch - after a storm's batch the next one collects for longer; flush writes at once", async (t) => {
  const writes: ReadonlyMap<string, Login>[] = [];
  const batch = new LoginBatch(async (logins) => void writes.push(logins), {
    delayMs: 5,
    stormSize: 3,
    stormDelayMs: 60_000,
  });
  const storm = ["ann", "bob", "cid"].map((key) => batch.record(key, { at: "1", address: "10.0.0.1" }));
  await Promise.all(storm);
  t.is(writes.length, 1);
  const late = batch.record("dee", { at: "2", address: "10.0.0.2" });
  // A batch of the ordinary delay, started after it, is written first.
  const ordinary = new LoginBatch(async () => {}, 5);
  await ordinary.record("eve", { at: "3", address: "10.0.0.3" });
  t.is(writes.length, 1, "the batch after a storm's is still collecting");
  await batch.flush();
  await late;
  t.deepEqual([...writes[1]!.keys()], ["dee"], "flush did not wait out the storm delay");
});

test("login batch - flush during a batch's write waits for that write (a stop then loses no sign-in record)", async (t) => {
  const started = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  let written = false;
  const batch = new LoginBatch(async () => {
    started.resolve();
    await gate.promise;
    written = true;
  }, 5);
  const recorded = batch.record("ann", { at: "1", address: "10.0.0.1" });
  await started.promise;
  const flushed = batch.flush().then(() => written);
  // Time for a flush that does not wait to resolve, before the write may end.
  await new Promise((resolve) => setImmediate(resolve));
  gate.resolve();
  t.true(await flushed, "flush resolved only once the write was done");
  await recorded;
});

test("address index - the name last signed in from an address; registering counts", (t) => {
  const users = new Map([
    ["ann", user("Ann", { lastAddress: "10.0.0.1", lastLoginAt: "2024-02-01T00:00:00.000Z" })],
    ["bob", user("Bob", { lastAddress: "10.0.0.1", createdAt: "2024-03-01T00:00:00.000Z" })],
    ["cid", user("Cid", { lastAddress: "10.0.0.2", lastLoginAt: "2024-01-05T00:00:00.000Z" })],
  ]);
  const index = new AddressIndex();
  t.is(index.nameAt(users, "10.0.0.1"), "Bob");
  t.is(index.nameAt(users, "10.0.0.2"), "Cid");
  t.is(index.nameAt(users, "10.0.0.3"), undefined);
});

test("look-alike index - another account's look-alike is found, the account's own name is not", (t) => {
  const users = new Map([[nameKey("paypal"), user("paypal")]]);
  const index = new LookAlikeIndex();
  t.true(index.looksLikeAnother(users, nameKey("pаypal"), nameSkeletons("pаypal")), "a Cyrillic а");
  t.false(index.looksLikeAnother(users, nameKey("paypal"), nameSkeletons("paypal")));
  t.false(index.looksLikeAnother(users, nameKey("alice"), nameSkeletons("alice")));
});

test("atomic write - a write that fails before the rename leaves the file as it was and no temp copy", async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "data.json");
  const temp = `${file}.tmp`;
  await writeFileAtomically(file, "one\n", { temp, mode: 0o600 });
  t.is(fs.readFileSync(file, "utf8"), "one\n");
  t.is(fs.statSync(file).mode & 0o777, 0o600);
  await t.throwsAsync(
    writeFileAtomically(file, "two\n", {
      temp,
      mode: 0o600,
      beforeRename: () => {
        throw new Error("lock lost");
      },
    }),
    { message: "lock lost" },
  );
  t.is(fs.readFileSync(file, "utf8"), "one\n");
  t.deepEqual(fs.readdirSync(dir), ["data.json"]);
  fs.writeFileSync(temp, "stale");
  await t.throwsAsync(writeFileAtomically(file, "three\n", { temp, mode: 0o600, exclusive: true }), {
    code: "EEXIST",
  });
  t.is(fs.readFileSync(temp, "utf8"), "stale", "a temp copy that is not this write's is left alone");
  await writeFileAtomically(file, "three\n", { temp, mode: 0o600 });
  t.is(fs.readFileSync(file, "utf8"), "three\n", "a temp copy left over is overwritten unless exclusive");
});
