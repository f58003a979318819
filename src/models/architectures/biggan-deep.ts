/**
 * BigGAN-deep (biggan-deep-generator.ts: HF structure; biggan-deep-discriminator.ts) in the
 * registry. A run trains one set of BN statistics (nStats 1: no per-truncation statistics,
 * which only the HF releases carry), torch-flavoured SN in G and BigGAN-PyTorch's in D, and
 * self-attention in G at the preset's position or none; orthogonal initialisation, the class
 * embedding exempt from orthogonal regularisation. Unconditional: one class.
 */
import type { Param } from '../../engine/graph.js';
import { initOrthogonal } from '../../nn/init.js';
import type { SNConfig } from '../../nn/spectral-norm.js';
import type { Architecture, ModelSpec } from '../architecture-entry.js';
import { bigGanDeepConfig, DEEP_G_LAYERS, validateBigGanDeepConfig, type BigGanDeepConfig } from '../biggan-deep-config.js';
import { BigGanDeepGenerator } from '../biggan-deep-generator.js';
import { BigGanDeepDiscriminator, type DeepDiscriminatorOptions } from '../biggan-deep-discriminator.js';
import type { JsonFields } from '../json-fields.js';
import { readSnConfig } from './biggan.js';

function deepDiscriminatorOptions(f: JsonFields): DeepDiscriminatorOptions {
  const out: DeepDiscriminatorOptions = { resolution: f.int('resolution', 1) };
  if (f.has('channelWidth')) out.channelWidth = f.int('channelWidth', 4);
  if (f.has('numClasses')) out.numClasses = f.int('numClasses', 1);
  if (f.has('sn')) out.sn = readSnConfig(f.object('sn'));
  if (f.has('attentionResolutions')) out.attentionResolutions = f.intList('attentionResolutions', 1);
  return out;
}

export const BIGGAN_DEEP: Architecture = {
  name: 'biggan-deep',
  summary: 'BigGAN-deep (Brock et al. 2019), 32-512',
  resolutions: Object.keys(DEEP_G_LAYERS).map(Number),
  defaultResolution: 128,
  dNorms: ['spectral'],
  unusedOptions: ['hier'],
  defaults: () => ({ gCh: 128, dCh: 128, dimZ: 128, bnEps: 1e-5 }),
  problem: (o) => (o.dCh % 4 !== 0 ? `--d-ch must be a multiple of 4 for biggan-deep, got ${o.dCh}` : null),

  buildGenerator: (o) => {
    const preset = bigGanDeepConfig(o.resolution, { channelWidth: o.gCh, nStats: 1, numClasses: o.numClasses, eps: o.bnEps });
    const cfg = validateBigGanDeepConfig(
      {
        ...preset,
        z_dim: o.dimZ,
        class_embed_dim: o.sharedDim,
        // no attention: a position past the last block
        attention_layer_position: o.gAttn.length ? preset.attention_layer_position : preset.layers.length,
      },
      'BigGAN-deep training config',
    );
    return new BigGanDeepGenerator(cfg, { flavour: 'torch', eps: o.snEps });
  },
  buildDiscriminator: (o) =>
    new BigGanDeepDiscriminator({
      resolution: o.resolution, channelWidth: o.dCh, numClasses: o.numClasses, sn: { flavour: 'ajbrock', eps: o.snEps }, attentionResolutions: o.dAttn,
    }),
  initialize: (model, rng) => initOrthogonal(model, rng),
  orthoExempt: (G): Param[] => (G instanceof BigGanDeepGenerator ? [G.class_embedding] : []),

  generatorSpec: (G) => {
    const deep = G as BigGanDeepGenerator;
    return { arch: 'biggan-deep', role: 'G', config: deep.config, sn: deep.sn };
  },
  discriminatorSpec: (D) => ({ arch: 'biggan-deep', role: 'D', config: (D as BigGanDeepDiscriminator).options }),
  readGeneratorSpec: (f) => ({
    arch: 'biggan-deep', role: 'G', config: validateBigGanDeepConfig(f.o.config, `${f.where} config`), sn: readSnConfig(f.object('sn')),
  }),
  readDiscriminatorSpec: (f) => ({ arch: 'biggan-deep', role: 'D', config: deepDiscriminatorOptions(f.object('config')) }),
  generatorFromSpec: (spec: ModelSpec, source) => new BigGanDeepGenerator(validateBigGanDeepConfig(spec.config as BigGanDeepConfig, source), spec.sn as SNConfig),
  discriminatorFromSpec: (spec: ModelSpec) => new BigGanDeepDiscriminator(spec.config as DeepDiscriminatorOptions),
};
