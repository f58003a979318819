/**
 * How a global batch is cut among ranks: rank r takes the r-th contiguous slice, which
 * is the r-th micro-batch of one process accumulating over `size` micro-batches
 * (the data-parallel invariant in docs/ARCHITECTURE.md).
 */
import { UserError } from '../errors.js';

/** Per-rank batch of a global batch; a one-line UserError when it does not split evenly. */
export function perRankBatch(globalBatch: number, size: number, what = 'batch'): number {
  if (!Number.isInteger(globalBatch) || globalBatch < 1) throw new UserError(`${what} ${globalBatch} is not a positive integer`);
  if (globalBatch % size !== 0) {
    throw new UserError(`${what} ${globalBatch} does not split over ${size} ranks (${globalBatch} = ${Math.floor(globalBatch / size)} × ${size} + ${globalBatch % size}): use a multiple of ${size}`);
  }
  return globalBatch / size;
}

/** [start, end) of rank's slice of a global batch. */
export function rankSlice(globalBatch: number, size: number, rank: number): [number, number] {
  const per = perRankBatch(globalBatch, size);
  return [rank * per, (rank + 1) * per];
}
