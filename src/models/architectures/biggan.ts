/**
 * BigGAN (BigGAN-PyTorch structure: biggan-generator.ts, biggan-discriminator.ts) in the
 * registry: built from a run's options as the paper's recipe has it (shared embedding,
 * hierarchical latents unless --no-hier, wide D), orthogonal initialisation, the shared
 * embedding exempt from orthogonal regularisation (upstream's blacklist). Unconditional:
 * one class, so the class embedding and the projection become learned constants.
 */
import type { Param } from '../../engine/graph.js';
import { initOrthogonal } from '../../nn/init.js';
import type { SNConfig } from '../../nn/spectral-norm.js';
import type { Architecture, ModelSpec } from '../architecture-entry.js';
import {
  BIGGAN_RESOLUTIONS, generatorBlockCount, parseDiscriminatorArgs, parseGeneratorArgs,
  type BigGANDiscriminatorConfig, type BigGANGeneratorConfig,
} from '../biggan-config.js';
import { BigGANGenerator } from '../biggan-generator.js';
import { BigGANDiscriminator } from '../biggan-discriminator.js';
import type { JsonFields } from '../json-fields.js';

/** The paper's latent size per resolution (BigGAN: 120 at 128, 140 at 256, 128 at 512; CIFAR scripts: 128). */
const PAPER_DIM_Z: Record<number, number> = { 32: 128, 64: 120, 128: 120, 256: 140, 512: 128 };

/** BigGAN-PyTorch's attention strings. */
export const attnString = (resolutions: number[]): string => (resolutions.length ? resolutions.join('_') : '0');

export function readSnConfig(f: JsonFields): SNConfig {
  return { flavour: f.oneOf('flavour', ['torch', 'ajbrock'] as const), eps: f.positive('eps') };
}

function bigGanGeneratorConfig(f: JsonFields): BigGANGeneratorConfig {
  const cfg: BigGANGeneratorConfig = {
    resolution: f.oneOf('resolution', BIGGAN_RESOLUTIONS), ch: f.int('ch', 1), zDim: f.int('zDim', 1),
    numClasses: f.int('numClasses', 1), hier: f.bool('hier'), sharedEmbedding: f.bool('sharedEmbedding'),
    sharedDim: f.int('sharedDim', 1), attention: f.intList('attention', 1), bnEps: f.positive('bnEps'),
    outputBnEps: f.positive('outputBnEps'), snEps: f.positive('snEps'),
  };
  if (cfg.hier && !cfg.sharedEmbedding) f.fail('hier needs sharedEmbedding');
  const slots = generatorBlockCount(cfg.resolution) + 1;
  if (cfg.hier && cfg.zDim % slots !== 0) f.fail(`zDim ${cfg.zDim} is not a multiple of the ${slots} hierarchical z slots`);
  return cfg;
}

function bigGanDiscriminatorConfig(f: JsonFields): BigGANDiscriminatorConfig {
  return {
    resolution: f.oneOf('resolution', BIGGAN_RESOLUTIONS), ch: f.int('ch', 1), numClasses: f.int('numClasses', 1),
    wide: f.bool('wide'), attention: f.intList('attention', 1), snEps: f.positive('snEps'),
  };
}

export const BIGGAN: Architecture = {
  name: 'biggan',
  summary: 'BigGAN (Brock et al. 2019), 32-512',
  resolutions: BIGGAN_RESOLUTIONS,
  defaultResolution: 128,
  dNorms: ['spectral'],
  unusedOptions: [],
  defaults: (resolution) => ({
    gCh: resolution <= 32 ? 64 : 96,
    dCh: resolution <= 32 ? 64 : 96,
    dimZ: PAPER_DIM_Z[resolution] ?? 128,
    bnEps: 1e-5,
  }),
  problem: () => null,

  buildGenerator: (o) =>
    new BigGANGenerator(
      parseGeneratorArgs({
        resolution: o.resolution, G_ch: o.gCh, dim_z: o.dimZ, n_classes: o.numClasses, hier: o.hier, G_shared: true,
        shared_dim: o.sharedDim, G_attn: attnString(o.gAttn), BN_eps: o.bnEps, SN_eps: o.snEps,
      }),
    ),
  buildDiscriminator: (o) =>
    new BigGANDiscriminator(
      parseDiscriminatorArgs({ resolution: o.resolution, D_ch: o.dCh, n_classes: o.numClasses, D_attn: attnString(o.dAttn), SN_eps: o.snEps, D_wide: true }),
    ),
  initialize: (model, rng) => initOrthogonal(model, rng),
  orthoExempt: (G): Param[] => (G instanceof BigGANGenerator && G.shared ? [G.shared.weight] : []),

  generatorSpec: (G) => ({ arch: 'biggan', role: 'G', config: (G as BigGANGenerator).config }),
  discriminatorSpec: (D) => ({ arch: 'biggan', role: 'D', config: (D as BigGANDiscriminator).config }),
  readGeneratorSpec: (f) => ({ arch: 'biggan', role: 'G', config: bigGanGeneratorConfig(f.object('config')) }),
  readDiscriminatorSpec: (f) => ({ arch: 'biggan', role: 'D', config: bigGanDiscriminatorConfig(f.object('config')) }),
  generatorFromSpec: (spec: ModelSpec) => new BigGANGenerator(spec.config as BigGANGeneratorConfig),
  discriminatorFromSpec: (spec: ModelSpec) => new BigGANDiscriminator(spec.config as BigGANDiscriminatorConfig),
};
