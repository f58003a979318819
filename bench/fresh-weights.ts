/**
 * Random full-size weights written by our own code, for benchmarks: an orthogonally
 * initialised model with converged-ish SN vectors, saved in the published layout so
 * both our CLI and the PyTorch script read the same file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '../src/random/rng.js';
import { initOrthogonal, initSpectralVectors } from '../src/nn/init.js';
import { BigGanDeepGenerator } from '../src/models/biggan-deep-generator.js';
import { PRETRAINED_DEEP_CONFIGS, bigGanDeepConfigJson } from '../src/models/biggan-deep-config.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { NdArray } from '../src/io/ndarray.js';

export interface BenchWeights {
  weights: string;
  config: string;
}

/** BigGAN-deep-128 in pytorch-pretrained-BigGAN naming; reused if already written. */
export function deep128Weights(dir: string, seed = 0): BenchWeights {
  const weights = path.join(dir, 'model.safetensors');
  const config = path.join(dir, 'config.json');
  if (fs.existsSync(weights) && fs.existsSync(config)) return { weights, config };
  fs.mkdirSync(dir, { recursive: true });
  const cfg = PRETRAINED_DEEP_CONFIGS[128];
  const model = new BigGanDeepGenerator(cfg);
  const rng = new Rng(seed);
  initOrthogonal(model, rng);
  initSpectralVectors(model, 3);
  // Attention gammas start at 0 upstream; give them a value so attention is exercised.
  for (const [name, p] of model.namedParams()) if (name.endsWith('gamma')) p.data.fill(0.3);
  const tensors: [string, NdArray][] = [...model.pretrainedStateDict()].map(([k, p]) => [k, { dtype: 'float32', shape: [...p.shape], data: p.data }]);
  writeSafetensors(weights, tensors, { note: 'random weights for benchmarks (biggan-ts bench/fresh-weights.ts)' });
  fs.writeFileSync(config, bigGanDeepConfigJson(cfg));
  return { weights, config };
}
