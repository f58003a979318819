/**
 * Early checks for per-class metrics (iFID): labels are known before any
 * image is decoded, so a real set without labels, a class with too few images
 * or classes the generator does not make fail at once, not after an hour of
 * Inception. The metric checks the same again on what was actually scored
 * (metrics/class-groups.ts: unreadable images may have been skipped).
 */
import { UserError } from '../errors.js';
import { className, classCounts } from '../metrics/class-groups.js';
import type { ImageInput, InputLabels } from './image-input.js';
import { type MetricPlan, perClassLabels } from './metric-plan.js';

/** The input's labels, or a one-line UserError saying why the plan's per-class metrics cannot have them. */
export function requireLabels(plan: MetricPlan, input: ImageInput, what: string): InputLabels {
  const labels = input.labels();
  if ('missing' in labels) throw new UserError(`${perClassLabels(plan)} needs the class of every image of ${what}, but ${labels.missing}`);
  return labels;
}

/** The class ids of the input's images (all `input.count` of them). */
export function inputClassIds(input: ImageInput, labels: InputLabels): Int32Array {
  return Int32Array.from({ length: input.count }, (_, i) => labels.label(i));
}

/**
 * Real labels before featurising: every class needs the plan's minimum; with a
 * generator's class count, the real classes must be exactly its classes.
 */
export function checkRealClasses(plan: MetricPlan, ids: Int32Array, names: readonly string[], where: string, generatorClasses?: number): void {
  const min = plan.gather.perClass, what = perClassLabels(plan);
  const counts = classCounts(ids);
  if (generatorClasses === undefined) {
    for (const [c, n] of counts) {
      if (n < min) throw new UserError(`${what} needs at least ${min} images of every class: class ${className(c, names)} has ${n} in ${where}`);
    }
    return;
  }
  for (const c of counts.keys()) {
    if (c >= generatorClasses) {
      throw new UserError(`${where} has images of class ${className(c, names)}, but the generator makes ${generatorClasses} classes (classes are paired by id, 0..${generatorClasses - 1})`);
    }
  }
  for (let c = 0; c < generatorClasses; c++) {
    const n = counts.get(c) ?? 0;
    if (n < min) throw new UserError(`${what} needs at least ${min} real images of every class the generator makes: class ${className(c, names)} has ${n} in ${where}`);
  }
}
