/** Largest absolute differences of numeric arrays, the measure the conformance tests report. */
import assert from 'node:assert/strict';

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** max |a - b| over the first n entries (default: all; then the lengths must match). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, n?: number): number {
  if (n === undefined) assert.equal(a.length, b.length, 'arrays of different lengths');
  const count = n ?? a.length;
  let m = 0;
  for (let i = 0; i < count; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
