/**
 * Full-size BigGAN-deep-128 (HF's config, 51 rows of BN statistics) with random weights, written
 * by our own code as a biggan-ts checkpoint, so sections that compare our own runtimes (browser)
 * need no PyTorch. The sampling section keeps torch_ref.py's file: PyTorch must read its weights.
 *
 * Speed does not depend on the values as long as they stay finite and away from denormals
 * (measured once for this file: output std ~0.17, nothing saturated, no NaN). Hence N(0, 1) weights
 * (spectral norm rescales every matrix anyway) instead of orthogonal ones, which take ~70 s in
 * JS for 50M parameters; SN vectors after 5 power iterations, as in released checkpoints;
 * attention gamma 0.4 so the attention branch is not multiplied away; BN statistics as
 * constructed (means 0, variances 1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PRETRAINED_DEEP_CONFIGS } from '../src/models/biggan-deep-config.js';
import { BigGanDeepGenerator } from '../src/models/biggan-deep-generator.js';
import { saveCheckpoint } from '../src/models/checkpoint.js';
import { initNormal, initSpectralVectors } from '../src/nn/init.js';
import { Rng } from '../src/random/rng.js';

/** DIR/model.safetensors, written once (seed 0) and reused. */
export function ourDeep128Weights(dir: string): string {
  const file = path.join(dir, 'model.safetensors');
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });
  const G = new BigGanDeepGenerator(PRETRAINED_DEEP_CONFIGS[128]);
  initNormal(G, new Rng(0), 1);
  initSpectralVectors(G);
  G.attention!.gamma.data.fill(0.4);
  saveCheckpoint(file, { G }); // atomic: an interrupted write leaves no file to reuse
  return file;
}
