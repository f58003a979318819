/**
 * Inception Score as torch-fidelity computes it (isc_features_to_metric):
 *  1. rows shuffled with np.random.RandomState(seed).permutation(N)
 *     (default on, seed 2020), or in an explicitly given order;
 *  2. p = softmax(logits), log p = log_softmax(logits) in float64 over all
 *     classes (1008 for the Inception graph; its input is the fc output
 *     WITHOUT bias, 'logits_unbiased');
 *  3. split i = rows [floor(i N / splits), floor((i+1) N / splits));
 *  4. q = mean of p over the split; score_i = exp(mean_rows(sum_c p (log p - log q)));
 *  5. mean and population (ddof 0) standard deviation of the scores.
 */
import { UserError } from '../errors.js';
import { type Matrix, allFinite } from '../linalg/matrix.js';
import { defineMetric, requireInput } from './metric-spec.js';
import { NumpyRandomState } from './numpy-random.js';

export interface InceptionScoreOptions {
  /** Number of splits; default 10. */
  splits?: number;
  /** Shuffle rows before splitting (torch-fidelity's samples_shuffle); default true. */
  shuffle?: boolean;
  /** Seed of the NumPy-compatible shuffle; default 2020 (torch-fidelity's rng_seed). */
  seed?: number;
  /** Explicit row order (a permutation of 0..N-1); overrides shuffle/seed. */
  permutation?: ArrayLike<number>;
}

export interface InceptionScoreResult {
  readonly mean: number;
  readonly std: number;
  readonly perSplit: Float64Array;
}

export const IS_DEFAULT_SPLITS = 10;
export const IS_DEFAULT_SEED = 2020;

/** `logits`: [N, classes] (float64; cast float32 network output first). */
export function inceptionScore(logits: Matrix, options: InceptionScoreOptions = {}): InceptionScoreResult {
  const { rows: n, cols: k, data } = logits;
  const splits = options.splits ?? IS_DEFAULT_SPLITS;
  if (!Number.isSafeInteger(splits) || splits < 1) throw new UserError(`Inception Score splits must be a positive integer, got ${splits}`);
  if (k < 1) throw new UserError('Inception Score needs at least one class column');
  if (n < splits) throw new UserError(`Inception Score with ${splits} splits needs at least ${splits} samples, got ${n}`);
  if (!allFinite(data)) throw new UserError('Inception Score: logits contain NaN or infinite values');

  const order = rowOrder(n, options);

  // Row-wise softmax and log-softmax in float64, stabilised by the row maximum.
  const p = new Float64Array(n * k), logp = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const src = order[i]! * k, dst = i * k;
    let mx = -Infinity;
    for (let c = 0; c < k; c++) mx = Math.max(mx, data[src + c]);
    let z = 0;
    for (let c = 0; c < k; c++) z += Math.exp(data[src + c] - mx);
    const logZ = Math.log(z);
    for (let c = 0; c < k; c++) {
      const lp = data[src + c] - mx - logZ;
      logp[dst + c] = lp;
      p[dst + c] = Math.exp(data[src + c] - mx) / z;
    }
  }

  const perSplit = new Float64Array(splits);
  const logq = new Float64Array(k);
  for (let s = 0; s < splits; s++) {
    const r0 = Math.floor((s * n) / splits), r1 = Math.floor(((s + 1) * n) / splits);
    const m = r1 - r0;
    logq.fill(0);
    for (let i = r0; i < r1; i++) for (let c = 0; c < k; c++) logq[c] += p[i * k + c];
    for (let c = 0; c < k; c++) logq[c] = Math.log(logq[c] / m);
    let klSum = 0;
    for (let i = r0; i < r1; i++) {
      let kl = 0;
      for (let c = 0; c < k; c++) {
        const pc = p[i * k + c];
        // 0 * log(0 / 0) counts as 0 (the limit), where torch-fidelity would give NaN.
        if (pc !== 0) kl += pc * (logp[i * k + c] - logq[c]);
      }
      klSum += kl;
    }
    perSplit[s] = Math.exp(klSum / m);
  }

  let mean = 0;
  for (const v of perSplit) mean += v;
  mean /= splits;
  let varSum = 0;
  for (const v of perSplit) varSum += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(varSum / splits), perSplit };
}

/** Row i of the split sequence is input row order[i]. */
function rowOrder(n: number, options: InceptionScoreOptions): ArrayLike<number> {
  if (options.permutation !== undefined) {
    const perm = options.permutation;
    if (perm.length !== n) throw new UserError(`Inception Score: permutation has ${perm.length} entries for ${n} samples`);
    const seen = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = perm[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= n || seen[v]) {
        throw new UserError(`Inception Score: the given row order is not a permutation of 0..${n - 1}`);
      }
      seen[v] = 1;
    }
    return perm;
  }
  if (options.shuffle === false) return identityOrder(n);
  return new NumpyRandomState(options.seed ?? IS_DEFAULT_SEED).permutation(n);
}

function identityOrder(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

export const inceptionScoreMetric = defineMetric({
  name: 'is',
  label: 'IS',
  description: 'Inception Score of fake samples from unbiased logits, 10 splits (torch-fidelity)',
  byDefault: true,
  needs: { fake: { logits: true }, reference: 'none' },
  options: [{ key: 'splits', flag: '--splits', arg: 'k', description: 'Inception Score splits', type: { kind: 'int', min: 1 }, default: IS_DEFAULT_SPLITS, reportAs: 'is_splits' }],
  fixedSettings: { is_shuffle_seed: IS_DEFAULT_SEED },
  display: [{ label: 'IS', value: 'is_mean', spread: 'is_std', digits: 3 }],
  minSamples: (o: { splits: number }, ctx) => (ctx.set === 'fake'
    ? { n: o.splits, why: `the Inception Score with ${o.splits} splits needs at least ${o.splits} samples (lower --splits)` }
    : undefined),
  compute: (inputs, options: InceptionScoreOptions) => {
    const r = inceptionScore(requireInput(inputs.fakeLogits, 'is', 'fake logits'), options);
    return { is_mean: r.mean, is_std: r.std };
  },
});
