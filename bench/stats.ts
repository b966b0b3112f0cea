// Small statistics helpers for combining repeated runs.

/** Median of a non-empty list (mean of the two middle values for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function min(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.min(...values);
}

export function max(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

/** (max - min) / median: how far apart the repeated runs landed, as a fraction. */
export function spread(values: readonly number[]): number {
  const m = median(values);
  if (values.length < 2 || !(m > 0)) return 0;
  return (max(values) - min(values)) / m;
}

/** value / base, or NaN when either is missing or the base is zero. */
export function ratio(value: number | undefined, base: number | undefined): number {
  if (value === undefined || base === undefined || !Number.isFinite(value) || !(base > 0)) return Number.NaN;
  return value / base;
}
