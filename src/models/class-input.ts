/** Reading a generator's class input (interfaces.ts ClassInput) the same way in every architecture. */
import { Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import type { ClassInput } from './interfaces.js';

/** Float class vectors [N, classes]: given ones as they are, ids as one-hot rows. */
export function classVectorOf(classes: ClassInput, n: number, numClasses: number): Tensor {
  expectClassInput(classes, n, numClasses);
  return 'vector' in classes ? classes.vector : op.oneHot(classes.ids, numClasses);
}

/** The shape check of a class input (also for unconditional models, which read nothing from it). */
export function expectClassInput(classes: ClassInput, n: number, numClasses: number): void {
  if ('vector' in classes) op.expectShape(classes.vector, [n, numClasses], 'class vector');
  else op.expectShape(classes.ids, [n], 'class ids');
}
