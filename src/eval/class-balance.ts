/**
 * Which class each generated image gets. Class-balanced by default (what
 * BigGAN-PyTorch's and StyleGAN-ADA's class-conditional evaluations do in
 * effect: every class equally represented, so the score measures all of them):
 * the ids are consecutive rounds, each a fresh seeded permutation of all C
 * classes. Every prefix of k*C images therefore holds each class exactly k
 * times, and a last partial round takes distinct classes at random.
 * 'uniform' draws each id independently (i.i.d. uniform, the other convention).
 */
import { UserError } from '../errors.js';
import { Rng } from '../random/rng.js';

export type ClassSampling = 'balanced' | 'uniform';
export const CLASS_SAMPLINGS: readonly ClassSampling[] = ['balanced', 'uniform'];

export function parseClassSampling(s: string): ClassSampling {
  if ((CLASS_SAMPLINGS as readonly string[]).includes(s)) return s as ClassSampling;
  throw new UserError(`unknown class sampling '${s}' (expected 'balanced' or 'uniform')`);
}

/** Streams class ids in the chosen scheme; successive calls continue one sequence. */
export class ClassIdStream {
  private round: Int32Array | null = null;
  private pos = 0;

  constructor(
    readonly numClasses: number,
    readonly sampling: ClassSampling,
    private readonly rng: Rng,
  ) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`numClasses must be a positive integer, got ${numClasses}`);
  }

  next(count: number): Int32Array {
    const out = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      if (this.sampling === 'uniform') {
        out[i] = this.rng.int(this.numClasses);
        continue;
      }
      if (!this.round || this.pos === this.round.length) {
        this.round = this.rng.permutation(this.numClasses);
        this.pos = 0;
      }
      out[i] = this.round[this.pos++]!;
    }
    return out;
  }
}
