import test from "ava";
import {
  hashPassword,
  type PasswordHash,
  passwordLength,
  SCRYPT_DEFAULTS,
  verifyPassword,
} from "../../daemon/shared/password.ts";
import { MIN_PASSWORD_LENGTH } from "../../daemon/shared/limits.ts";

const cheap = { N: 1024, r: 8, p: 1, keylen: 32 };

test("password - a hash verifies with its password", async (t) => {
  const stored = await hashPassword("correct horse", cheap);
  t.is(stored.algo, "scrypt");
  t.is(Buffer.from(stored.salt, "base64").length, 16);
  t.is(Buffer.from(stored.hash, "base64").length, 32);
  t.true(await verifyPassword("correct horse", stored));
});

test("password - a wrong password does not verify", async (t) => {
  const stored = await hashPassword("correct horse", cheap);
  t.false(await verifyPassword("correct horsf", stored));
  t.false(await verifyPassword("", stored));
});

test("password - verify uses the stored parameters, not the defaults", async (t) => {
  t.is(SCRYPT_DEFAULTS.N, 16384);
  const stored = await hashPassword("pässword", { ...SCRYPT_DEFAULTS, N: 1024 });
  t.is(stored.N, 1024);
  t.true(await verifyPassword("pässword", stored));
  // The same hash claimed under the default N no longer matches: N really is taken from the record.
  t.false(await verifyPassword("pässword", { ...stored, N: SCRYPT_DEFAULTS.N }));
});

test("password - default parameters hash and verify", async (t) => {
  const stored = await hashPassword("defaults");
  t.like(stored, { N: 16384, r: 8, p: 1, keylen: 32 });
  t.true(await verifyPassword("defaults", stored));
});

test("password - two hashes of the same password have different salts", async (t) => {
  const a = await hashPassword("same", cheap);
  const b = await hashPassword("same", cheap);
  t.not(a.salt, b.salt);
  t.not(a.hash, b.hash);
});

test("password - malformed or unknown records never verify", async (t) => {
  const good = await hashPassword("pw", cheap);
  const bad: unknown[] = [
    { ...good, algo: "bcrypt" },
    { ...good, N: 1000 },
    { ...good, N: 2 ** 40 },
    { ...good, r: 0 },
    { ...good, keylen: 64 },
    { ...good, salt: "not base64!" },
    { ...good, hash: "" },
    { ...good, hash: Buffer.alloc(31).toString("base64") },
    { algo: "scrypt" },
    null,
    "scrypt",
  ];
  for (const record of bad)
    t.false(await verifyPassword("pw", record as PasswordHash), JSON.stringify(record));
  t.true(await verifyPassword("pw", good));
});

test("password - composed and decomposed forms of a password are the same password", async (t) => {
  const stored = await hashPassword("caf\u00e9", cheap);
  t.true(await verifyPassword("cafe\u0301", stored));
});

test("password - the minimum length counts code points", (t) => {
  t.is(MIN_PASSWORD_LENGTH, 4);
  t.is(passwordLength("😀😀😀😀"), 4);
  t.is("😀😀😀😀".length, 8);
});

test("password - bad parameters for a new hash are refused", async (t) => {
  await t.throwsAsync(hashPassword("pw", { ...cheap, N: 1000 }), { instanceOf: RangeError });
});
