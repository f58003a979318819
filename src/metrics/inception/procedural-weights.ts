/**
 * The metrics fixtures' procedural Inception weights (README §1 of
 * fixtures/metrics-reference): a stand-in for the 95 MB published file that any
 * language regenerates bit-exactly with 32-bit integer math. Tensors are numbered
 * k = 0, 1, ... in state-dict order (our InceptionV3's declaration order; the
 * file has no num_batches_tracked), element i of tensor k is
 *   u = (i * 2654435761 + k * 40503 + SEED) mod 2^32
 *   v = float32((u mod 65521) / 65521 - 0.5)
 *   value = float32(v * s + c)
 * with (s, c) chosen by the tensor's kind (He-uniform convs/fc, BN near identity).
 */
import type { NdArray } from '../../io/ndarray.js';
import { InceptionV3 } from './inception-v3.js';

export const PROCEDURAL_SEED = 20151205;

export type ProceduralKind = 'conv_weight' | 'fc_weight' | 'bn_weight' | 'bn_bias' | 'bn_running_mean' | 'bn_running_var' | 'fc_bias';

/** The kind of an Inception state-dict tensor, from its key. */
export function proceduralKind(key: string): ProceduralKind {
  if (key === 'fc.weight') return 'fc_weight';
  if (key === 'fc.bias') return 'fc_bias';
  if (key.endsWith('.conv.weight')) return 'conv_weight';
  const bn = /\.bn\.(weight|bias|running_mean|running_var)$/.exec(key);
  if (bn) return `bn_${bn[1]}` as ProceduralKind;
  throw new Error(`procedural weights: no rule for tensor ${key}`);
}

/** Scale s and offset c of one tensor (float64, as the fixture computes them). */
export function proceduralScaleOffset(kind: ProceduralKind, shape: readonly number[]): { scale: number; offset: number } {
  switch (kind) {
    case 'conv_weight':
    case 'fc_weight': {
      const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
      return { scale: 2 * Math.sqrt(6 / fanIn), offset: 0 }; // He-uniform: +-sqrt(6 / fan_in)
    }
    case 'bn_weight':
      return { scale: 0.2, offset: 1 };
    case 'bn_bias':
    case 'bn_running_mean':
    case 'fc_bias':
      return { scale: 0.2, offset: 0 };
    case 'bn_running_var':
      return { scale: 1, offset: 1 };
  }
}

/** Tensor number k of the procedural set, n values. */
export function proceduralTensor(k: number, n: number, scale: number, offset: number, seed = PROCEDURAL_SEED): Float32Array {
  const out = new Float32Array(n);
  const kTerm = Math.imul(k, 40503);
  const mult = 2654435761 | 0;
  for (let i = 0; i < n; i++) {
    // both products wrap to int32; their sum (with the seed) is exact in a double, >>> 0 takes it mod 2^32
    const u = (Math.imul(i, mult) + kTerm + seed) >>> 0;
    const v = Math.fround((u % 65521) / 65521 - 0.5);
    out[i] = v * scale + offset; // the float64 result rounds once on store
  }
  return out;
}

/** The whole procedural state dict, keyed and ordered like the published weights file's module. */
export function proceduralInceptionStateDict(seed = PROCEDURAL_SEED): Map<string, NdArray> {
  const out = new Map<string, NdArray>();
  // a throwaway model supplies the key order and shapes
  new InceptionV3().namedParams().forEach(([key, p], k) => {
    const { scale, offset } = proceduralScaleOffset(proceduralKind(key), p.shape);
    out.set(key, { dtype: 'float32', shape: [...p.shape], data: proceduralTensor(k, p.data.length, scale, offset, seed) });
  });
  return out;
}
