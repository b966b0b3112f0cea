/** Helpers shared by the protocol tests: byte building and chunking. */

import type { ExecutionContext } from "ava";
import fc from "fast-check";

export function bytes(...parts: (string | number | readonly number[] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") out.push(...new TextEncoder().encode(p));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** split cuts data at the given positions (any order, duplicates and out-of-range allowed). */
export function split(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(data.length, c))))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(data.subarray(prev, p));
    prev = p;
  }
  chunks.push(data.subarray(prev));
  return chunks;
}

/** byteByByte cuts data into one-byte chunks. */
export function byteByByte(data: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < data.length; i++) chunks.push(data.subarray(i, i + 1));
  return chunks;
}

/** check runs a fast-check property (using node:assert inside) and fails the test with the shrunk counterexample. */
export function check<Ts extends [unknown, ...unknown[]]>(
  t: ExecutionContext,
  property: fc.IProperty<Ts>,
  params?: fc.Parameters<Ts>,
): void {
  t.notThrows(() => fc.assert(property, params));
}
