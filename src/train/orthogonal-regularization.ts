/**
 * Orthogonal regularisation of G's weights. Like BigGAN-PyTorch, it is not a loss
 * term: its analytic gradient is added to each weight's loss gradient before the
 * optimizer step, computed from the unnormalised weight W viewed as [out, rest]:
 *
 *   'biggan' (utils.ortho, what the paper's models were trained with):
 *            2β · ((W Wᵀ) ⊙ (1 − I)) W
 *   'paper'  the exact gradient of the paper's penalty β‖W Wᵀ ⊙ (1 − I)‖²_F:
 *            4β · ((W Wᵀ) ⊙ (1 − I)) W   (upstream's formula is half of it)
 *   'full'   (utils.default_ortho, classic orthogonal regularisation β‖W Wᵀ − I‖²_F / 2):
 *            2β · (W Wᵀ − I) W
 *   'none'
 *
 * Applied to every trainable G parameter with two or more dimensions except those its
 * architecture's registry entry exempts (class embeddings: upstream's blacklist holds the
 * shared one); biases, BN gains and the attention gamma are left alone. β enters as a scalar input (with the variant's factor).
 */
import { Graph, Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import type { GeneratorModel } from '../models/interfaces.js';
import { architectureOf } from '../models/architectures.js';

export type OrthoVariant = 'biggan' | 'paper' | 'full' | 'none';

export const ORTHO_VARIANTS: readonly OrthoVariant[] = ['biggan', 'paper', 'full', 'none'];

/** The factor in front of β for each variant (fed to the graph as one float32 scalar, β·factor). */
export function orthoScale(variant: OrthoVariant, beta: number): number {
  return variant === 'paper' ? 4 * beta : variant === 'none' ? 0 : 2 * beta;
}

/** The parameters the regulariser touches, in state-dict order. */
export function orthoTargets(G: GeneratorModel): Param[] {
  const skip = new Set(architectureOf(G).orthoExempt(G));
  return G.namedParams()
    .map(([, p]) => p)
    .filter((p) => p.trainable && p.shape.length >= 2 && !skip.has(p));
}

function identity(g: Graph, n: number): Tensor {
  // EyeLike instead of an n x n constant: no large initializer in the model file
  const zeros = op.zeros(g, [n, n]);
  return g.addNode('EyeLike', [zeros], {}, [{ shape: [n, n], dtype: 'float32' }])[0];
}

/** The term added to W's gradient; `scale` is the float32 scalar β·factor. */
export function orthoGradient(weight: Tensor, variant: Exclude<OrthoVariant, 'none'>, scale: Tensor): Tensor {
  const g = weight.graph;
  const out = weight.shape[0];
  const W = op.reshape(weight, [out, -1]);
  const rest = W.shape[1];
  if (out > rest) {
    // The same term through the small Gram WᵀW ([rest, rest]): (W Wᵀ) W = W (Wᵀ W), and the
    // diagonal of W Wᵀ is each row's squared norm. For G's first linear ([8192, 20] at 128x128)
    // this avoids an 8192 x 8192 matrix (256 MB, and its products).
    const wwtW = op.matmul(W, op.matmul(op.transpose(W, [1, 0]), W));
    const diagPart = variant === 'full' ? W : op.mul(W, op.reduceSum(op.mul(W, W), [1], true));
    return op.reshape(op.mul(op.sub(wwtW, diagPart), scale), [...weight.shape]);
  }
  const gram = op.matmul(W, op.transpose(W, [1, 0]));
  const eye = identity(g, out);
  const inner = variant === 'full' ? op.sub(gram, eye) : op.mul(gram, op.sub(1, eye));
  const term = op.mul(op.matmul(inner, W), scale);
  return op.reshape(term, [...weight.shape]);
}
