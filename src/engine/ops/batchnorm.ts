/** Inference batch norm as one fused ONNX operator (statistics given, NCHW). */
import { Tensor } from '../graph.js';
import { registerVjp } from '../vjp-registry.js';

export function batchNormInference(x: Tensor, scale: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, eps: number): Tensor {
  const c = x.shape[1];
  for (const [t, nm] of [
    [scale, 'scale'],
    [bias, 'bias'],
    [mean, 'mean'],
    [variance, 'variance'],
  ] as const) {
    if (t.rank !== 1 || t.shape[0] !== c) throw new Error(`batchNorm: ${nm} ${t} must be [${c}] for input ${x}`);
  }
  return x.graph.addNode('BatchNormalization', [x, scale, bias, mean, variance], { epsilon: { float: eps } }, [
    { shape: x.shape, dtype: x.dtype },
  ])[0];
}

registerVjp('BatchNormalization', () => {
  throw new Error('BatchNormalization: inference-only operator; training graphs compute batch statistics from reductions');
});
