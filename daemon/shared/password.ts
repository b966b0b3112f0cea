import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** A stored password: scrypt with its own salt and parameters, so the defaults can be raised later. */
export interface PasswordHash {
  algo: "scrypt";
  N: number;
  r: number;
  p: number;
  keylen: number;
  /** base64 */
  salt: string;
  /** base64 */
  hash: string;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keylen: number;
}

export const SCRYPT_DEFAULTS: Readonly<ScryptParams> = Object.freeze({ N: 16384, r: 8, p: 1, keylen: 32 });

const SALT_BYTES = 16;
/** Bounds on parameters: a stored record outside them is malformed (and must not make us allocate gigabytes). */
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const MIN_KEYLEN = 16;
const MAX_KEYLEN = 256;
const MAX_MEMORY = 512 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A password's length in characters (code points), as MIN_PASSWORD_LENGTH counts them. */
export function passwordLength(password: string): number {
  let n = 0;
  for (const _ of password) n++;
  return n;
}

function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

function paramsProblem(params: ScryptParams): string | undefined {
  const { N, r, p, keylen } = params;
  if (!isInt(N, 2, MAX_N) || (N & (N - 1)) !== 0) return `N must be a power of two from 2 to ${MAX_N}`;
  if (!isInt(r, 1, MAX_R)) return `r must be an integer from 1 to ${MAX_R}`;
  if (!isInt(p, 1, MAX_P)) return `p must be an integer from 1 to ${MAX_P}`;
  if (!isInt(keylen, MIN_KEYLEN, MAX_KEYLEN))
    return `keylen must be an integer from ${MIN_KEYLEN} to ${MAX_KEYLEN}`;
  if (128 * N * r > MAX_MEMORY) return "N and r need too much memory";
  return undefined;
}

/** Normalised so the same password typed on different terminals (composed or not) gives the same hash. */
function passwordBytes(password: string): Buffer {
  return Buffer.from(password.normalize("NFC"), "utf8");
}

/** Runs on libuv's thread pool (async crypto.scrypt), never on the calling event loop. */
function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const { N, r, p, keylen } = params;
  // OpenSSL needs about 128*N*r (+128*r*p) bytes; leave headroom so valid parameters never hit the limit.
  const maxmem = 128 * r * (N + p + 2) + 32 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(passwordBytes(password), salt, keylen, { N, r, p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(
  password: string,
  params: ScryptParams = SCRYPT_DEFAULTS,
): Promise<PasswordHash> {
  const { N, r, p, keylen } = params;
  const problem = paramsProblem({ N, r, p, keylen });
  if (problem) throw new RangeError(`bad scrypt parameters: ${problem}`);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, { N, r, p, keylen });
  return { algo: "scrypt", N, r, p, keylen, salt: salt.toString("base64"), hash: hash.toString("base64") };
}

function decodeBase64(value: unknown): Buffer | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length % 4 !== 0 || !BASE64.test(value)) {
    return undefined;
  }
  return Buffer.from(value, "base64");
}

/**
 * Checks a password against a stored hash using the stored parameters (never the current defaults).
 * An unknown algorithm or a malformed record is simply a mismatch. The comparison is constant-time.
 */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  if (typeof password !== "string" || stored === null || typeof stored !== "object") return false;
  if (stored.algo !== "scrypt") return false;
  const params = { N: stored.N, r: stored.r, p: stored.p, keylen: stored.keylen };
  if (paramsProblem(params) !== undefined) return false;
  const salt = decodeBase64(stored.salt);
  const expected = decodeBase64(stored.hash);
  if (!salt || !expected || expected.length !== params.keylen) return false;
  let actual: Buffer;
  try {
    actual = await derive(password, salt, params);
  } catch {
    return false;
  }
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
