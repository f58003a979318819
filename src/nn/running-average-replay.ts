/**
 * BatchNorm's running statistics of several micro-batches, rebuilt from the micro-batches'
 * own terms. A training forward writes rm·(1−m) + m·s (statisticsFor: two float32 Mul and
 * one Add); fed rm = 0 it returns exactly t = m·s (0·(1−m) = 0 and 0 + t = t), so data-parallel
 * ranks can each run their micro-batch from zeros, gather the t's (exactly: distributed/
 * allgather.ts) and replay the one-process chain rm ← rm·(1−m) + t in micro-batch order, each
 * step rounded to float32 as onnxruntime's separate Mul and Add round (a float64 product or
 * sum of two float32 values, rounded once, is the float32 result).
 */

/** The running average after the micro-batches whose terms m·s are `terms` (in order), from `start`. */
export function replayRunningAverage(start: Float32Array, terms: readonly Float32Array[], momentum: number): Float32Array {
  const keep = Math.fround(1 - momentum);
  const out = Float32Array.from(start);
  for (const t of terms) {
    if (t.length !== out.length) throw new Error(`replayRunningAverage: a term has ${t.length} values, the statistic ${out.length}`);
    for (let c = 0; c < out.length; c++) out[c] = Math.fround(Math.fround(out[c] * keep) + t[c]);
  }
  return out;
}
