/**
 * Intra-class FID (iFID, as StudioGAN reports it): the mean over classes c of
 * FID(generated images of class c, real images of class c), so a generator
 * that draws every class from one shared mode scores badly even when the pooled
 * FID is fine. Classes are paired by id (a generated image's class is the class
 * it was sampled with; real images carry their labels); every class seen in
 * either set needs at least 2 images in both (a covariance needs 2). Each
 * class's FID is fid.ts's number (same --fid-eps-offset policy), computed in the
 * span of that class's rows (feature-set-fid.ts): tens of images per class cost
 * a small Gram matrix, not 2048 x 2048 covariances.
 */
import { UserError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';
import { pairedClasses, rowsOfClass } from './class-groups.js';
import { type FeatureSetFidOptions, featureSetFid } from './feature-set-fid.js';
import { FID_EPS_OFFSET_OPTION } from './fid.js';
import { defineMetric, requireInput } from './metric-spec.js';

/** Images of every class each set must have. */
export const IFID_MIN_PER_CLASS = 2;

export interface IntraClassFidResult {
  readonly mean: number;
  /** The classes averaged over, ascending, and the FID of each. */
  readonly classes: Int32Array;
  readonly perClass: Float64Array;
}

/** iFID of generated features `fake` [n, d] with class ids `fakeClasses` against real features with `realClasses`. */
export function intraClassFid(
  fake: Matrix, fakeClasses: ArrayLike<number>, real: Matrix, realClasses: ArrayLike<number>,
  options: FeatureSetFidOptions = {}, classNames?: readonly string[],
): IntraClassFidResult {
  if (fake.cols !== real.cols) throw new UserError(`iFID: feature sets have different dimensions (${fake.cols} vs ${real.cols})`);
  if (fakeClasses.length !== fake.rows) throw new UserError(`iFID: ${fakeClasses.length} class ids for ${fake.rows} generated feature rows`);
  if (realClasses.length !== real.rows) throw new UserError(`iFID: ${realClasses.length} class ids for ${real.rows} real feature rows`);
  const ids = pairedClasses(fakeClasses, realClasses, IFID_MIN_PER_CLASS, 'iFID', classNames);
  const perClass = new Float64Array(ids.length);
  ids.forEach((c, k) => {
    perClass[k] = featureSetFid(rowsOfClass(fake, fakeClasses, c), rowsOfClass(real, realClasses, c), options);
  });
  let sum = 0;
  for (const v of perClass) sum += v;
  return { mean: sum / ids.length, classes: Int32Array.from(ids), perClass };
}

export const intraClassFidMetric = defineMetric({
  name: 'ifid',
  label: 'iFID',
  description: 'intra-class FID: the mean over classes of the FID between generated and real images of that class (StudioGAN)',
  needs: { fake: { features: true, classes: true }, reference: 'class-features', perClass: IFID_MIN_PER_CLASS },
  options: [FID_EPS_OFFSET_OPTION],
  display: [{ label: 'iFID', value: 'ifid', digits: 3 }],
  minSamples: (_o, ctx) => (ctx.set === 'fake' && ctx.classes !== undefined
    ? {
      n: IFID_MIN_PER_CLASS * ctx.classes,
      why: `iFID needs at least ${IFID_MIN_PER_CLASS} images of each of the ${ctx.classes} classes (with class-balanced sampling, -n >= ${IFID_MIN_PER_CLASS * ctx.classes})`,
    }
    : { n: IFID_MIN_PER_CLASS, why: `iFID needs at least ${IFID_MIN_PER_CLASS} images of each class` }),
  compute: (inputs, options: FeatureSetFidOptions) => {
    const r = intraClassFid(
      requireInput(inputs.fakeFeatures, 'ifid', 'fake features'),
      requireInput(inputs.fakeClasses, 'ifid', 'the class of each fake sample'),
      requireInput(inputs.realFeatures, 'ifid', 'real features (statistics are not enough)'),
      requireInput(inputs.realClasses, 'ifid', 'the class of each real sample'),
      options,
      inputs.classNames,
    );
    // a mean of squared distances: below 0 only by the cancellation fid.ts's clamp describes; the computed value is kept
    return { ifid: Math.max(0, r.mean), ...(r.mean < 0 ? { ifid_raw: r.mean } : {}), ifid_classes: r.classes.length };
  },
});
