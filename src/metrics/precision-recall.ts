/**
 * Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision
 * and Recall Metric for Assessing Generative Models"): each set's manifold is
 * the union of balls around its samples, each ball reaching the sample's k-th
 * nearest neighbour in its own set (k = 3 in the paper);
 *   precision = share of generated samples inside the real manifold,
 *   recall    = share of real samples inside the generated manifold.
 * As the reference code StudioGAN calls (clovaai's prdc, `compute_prdc`), the
 * radius excludes the sample itself and a point counts as inside a ball when
 * its distance is strictly below the radius (NVIDIA's original code uses <=;
 * the two differ only on exact ties). Exact distances in float64, in blocks
 * (nearest-neighbours.ts).
 */
import type { Matrix } from '../linalg/matrix.js';
import { defineMetric, requireInput } from './metric-spec.js';
import { checkFeatureSets, forEachDistanceBlock, kthNeighbourSquaredDistances } from './nearest-neighbours.js';

export interface PrecisionRecallOptions {
  /** Neighbours that define each ball's radius; default 3. */
  k?: number;
}

export const PR_DEFAULT_K = 3;

/** Precision and recall of generated features `fake` [n, d] against real features `real` [m, d]. */
export function precisionRecall(real: Matrix, fake: Matrix, options: PrecisionRecallOptions = {}): { precision: number; recall: number } {
  const k = options.k ?? PR_DEFAULT_K;
  checkFeatureSets(real, fake, 'precision/recall');
  const realRadius = kthNeighbourSquaredDistances(real, k);
  const fakeRadius = kthNeighbourSquaredDistances(fake, k);
  const fakeInside = new Uint8Array(fake.rows);
  const realInside = new Uint8Array(real.rows);
  forEachDistanceBlock(real, fake, ({ i0, i1, j0, j1, d2 }) => {
    const cols = j1 - j0;
    for (let i = i0; i < i1; i++) {
      const r = (i - i0) * cols, ri = realRadius[i]!;
      let inside = realInside[i]!;
      for (let j = j0; j < j1; j++) {
        const v = d2[r + j - j0]!;
        if (v < ri) fakeInside[j] = 1;
        if (v < fakeRadius[j]!) inside = 1;
      }
      realInside[i] = inside;
    }
  });
  return { precision: share(fakeInside), recall: share(realInside) };
}

function share(flags: Uint8Array): number {
  let s = 0;
  for (const f of flags) s += f;
  return s / flags.length;
}

export const precisionRecallMetric = defineMetric({
  name: 'pr',
  label: 'precision/recall',
  description: 'improved precision and recall: k-NN balls around real and generated pool3 features (Kynkäänniemi et al. 2019)',
  needs: { fake: { features: true }, reference: 'features' },
  options: [{
    key: 'k', flag: '--pr-k', arg: 'k', description: `precision/recall: the k-th nearest neighbour sets each ball's radius (default ${PR_DEFAULT_K}, as the paper)`,
    type: { kind: 'int', min: 1 }, default: PR_DEFAULT_K, reportAs: 'pr_k',
  }],
  display: [{ label: 'precision', value: 'precision', digits: 4 }, { label: 'recall', value: 'recall', digits: 4 }],
  minSamples: (o: { k: number }) => ({ n: o.k + 1, why: `precision/recall with k=${o.k} needs at least ${o.k + 1} samples per set (lower --pr-k)` }),
  compute: (inputs, options: PrecisionRecallOptions) => precisionRecall(
    requireInput(inputs.realFeatures, 'pr', 'real features (statistics are not enough)'),
    requireInput(inputs.fakeFeatures, 'pr', 'fake features'),
    options,
  ),
});
