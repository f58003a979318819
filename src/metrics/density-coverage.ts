/**
 * Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity
 * Metrics for Generative Models"), from k-NN balls around the REAL samples
 * only (k = 5 in the paper), so a few outlying generated samples cannot
 * inflate them:
 *   density  = (1 / (k M)) sum_j #{real balls containing generated sample j}
 *              (about 1 when both sets come from one distribution; can exceed 1);
 *   coverage = share of real samples whose ball contains a generated sample.
 * Conventions as clovaai's prdc (`compute_prdc`, what StudioGAN runs): the
 * radius is the distance to the k-th nearest other real sample, and "inside"
 * is strictly below it (so a set scored against itself has density exactly 1
 * when no two distances tie). Exact float64 distances in blocks.
 */
import { UserError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import { defineMetric, requireInput } from './metric-spec.js';
import { checkFeatureSets, forEachDistanceBlock, kthNeighbourSquaredDistances } from './nearest-neighbours.js';

export interface DensityCoverageOptions {
  /** Neighbours that define each real ball's radius; default 5. */
  k?: number;
}

export const DC_DEFAULT_K = 5;

/** Density and coverage of generated features `fake` [n, d] against real features `real` [m, d]. */
export function densityCoverage(real: Matrix, fake: Matrix, options: DensityCoverageOptions = {}): { density: number; coverage: number } {
  const k = options.k ?? DC_DEFAULT_K;
  checkFeatureSets(real, fake, 'density/coverage');
  if (fake.rows < 1) throw new UserError('density/coverage: there are no generated samples');
  const radius = kthNeighbourSquaredDistances(real, k);
  const coveredRows = new Uint8Array(real.rows);
  let inside = 0; // (real ball, generated sample) pairs with the sample inside the ball
  let covered = 0;
  forEachDistanceBlock(real, fake, ({ i0, i1, j0, j1, d2 }) => {
    const cols = j1 - j0;
    for (let i = i0; i < i1; i++) {
      const r = (i - i0) * cols, ri = radius[i]!;
      let n = 0;
      for (let b = 0; b < cols; b++) if (d2[r + b]! < ri) n++;
      inside += n;
      // a real sample is visited by several column blocks: count it once, the first time one is inside
      if (n > 0 && !coveredRows[i]) {
        coveredRows[i] = 1;
        covered++;
      }
    }
  });
  return { density: inside / (k * fake.rows), coverage: covered / real.rows };
}

export const densityCoverageMetric = defineMetric({
  name: 'dc',
  label: 'density/coverage',
  description: 'density and coverage: generated pool3 features in k-NN balls around the real ones (Naeem et al. 2020)',
  needs: { fake: { features: true }, reference: 'features' },
  options: [{
    key: 'k', flag: '--dc-k', arg: 'k', description: `density/coverage: the k-th nearest real neighbour sets each real ball's radius (default ${DC_DEFAULT_K}, as the paper)`,
    type: { kind: 'int', min: 1 }, default: DC_DEFAULT_K, reportAs: 'dc_k',
  }],
  display: [{ label: 'density', value: 'density', digits: 4 }, { label: 'coverage', value: 'coverage', digits: 4 }],
  minSamples: (o: { k: number }, ctx) => (ctx.set === 'real'
    ? { n: o.k + 1, why: `density/coverage with k=${o.k} needs at least ${o.k + 1} real samples (lower --dc-k)` }
    : undefined),
  compute: (inputs, options: DensityCoverageOptions) => densityCoverage(
    requireInput(inputs.realFeatures, 'dc', 'real features (statistics are not enough)'),
    requireInput(inputs.fakeFeatures, 'dc', 'fake features'),
    options,
  ),
});
