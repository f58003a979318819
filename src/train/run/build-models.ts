/**
 * The networks of a run, from its config: G, D and G_ema (a separate copy of G),
 * orthogonally initialised (the paper's choice) from the run's 'init' stream, with
 * the spectral-norm vectors set by a few power iterations so sigma is right from
 * the first step.
 */
import { Module } from '../../nn/module.js';
import { initOrthogonal, initSpectralVectors } from '../../nn/init.js';
import type { DiscriminatorModel, GeneratorModel } from '../../models/interfaces.js';
import { BigGANGenerator } from '../../models/biggan-generator.js';
import { BigGANDiscriminator } from '../../models/biggan-discriminator.js';
import { parseDiscriminatorArgs, parseGeneratorArgs } from '../../models/biggan-config.js';
import { BigGanDeepGenerator } from '../../models/biggan-deep-generator.js';
import { BigGanDeepDiscriminator } from '../../models/biggan-deep-discriminator.js';
import { bigGanDeepConfig, validateBigGanDeepConfig } from '../../models/biggan-deep-config.js';
import type { TrainConfig } from './config.js';
import { streamRng } from './latents.js';

export interface RunModels {
  G: GeneratorModel;
  D: DiscriminatorModel;
  G_ema: GeneratorModel;
}

const attnString = (resolutions: number[]): string => (resolutions.length ? resolutions.join('_') : '0');

function buildGenerator(c: TrainConfig, numClasses: number): GeneratorModel {
  if (c.arch === 'biggan') {
    return new BigGANGenerator(
      parseGeneratorArgs({
        resolution: c.resolution, G_ch: c.gCh, dim_z: c.dimZ, n_classes: numClasses, hier: c.hier, G_shared: true,
        shared_dim: c.sharedDim, G_attn: attnString(c.gAttn), BN_eps: c.bnEps, SN_eps: c.snEps,
      }),
    );
  }
  const preset = bigGanDeepConfig(c.resolution, { channelWidth: c.gCh, nStats: 1, numClasses, eps: c.bnEps });
  const cfg = validateBigGanDeepConfig(
    {
      ...preset,
      z_dim: c.dimZ,
      class_embed_dim: c.sharedDim,
      // no attention: a position past the last block
      attention_layer_position: c.gAttn.length ? preset.attention_layer_position : preset.layers.length,
    },
    'BigGAN-deep training config',
  );
  return new BigGanDeepGenerator(cfg, { flavour: 'torch', eps: c.snEps });
}

function buildDiscriminator(c: TrainConfig, numClasses: number): DiscriminatorModel {
  if (c.arch === 'biggan') {
    return new BigGANDiscriminator(
      parseDiscriminatorArgs({ resolution: c.resolution, D_ch: c.dCh, n_classes: numClasses, D_attn: attnString(c.dAttn), SN_eps: c.snEps, D_wide: true }),
    );
  }
  return new BigGanDeepDiscriminator({
    resolution: c.resolution, channelWidth: c.dCh, numClasses, sn: { flavour: 'ajbrock', eps: c.snEps }, attentionResolutions: c.dAttn,
  });
}

/** Copies every state-dict entry of `from` into `to` (same architecture). */
export function copyState(from: Module, to: Module): void {
  const src = new Map(from.namedParams());
  for (const [path, p] of to.namedParams()) {
    const s = src.get(path);
    if (!s || s.data.length !== p.data.length) throw new Error(`copyState: no matching entry for ${path}`);
    p.data = Float32Array.from(s.data);
  }
}

/** The networks of a run with `numClasses` classes; initialised unless `init` is false (a checkpoint will fill them). */
export function buildRunModels(c: TrainConfig, numClasses: number, opts: { init?: boolean } = {}): RunModels {
  const G = buildGenerator(c, numClasses);
  const D = buildDiscriminator(c, numClasses);
  const G_ema = buildGenerator(c, numClasses);
  if (opts.init === false) return { G, D, G_ema };
  const rng = streamRng(c.seed, 'init', 0);
  initOrthogonal(G, rng);
  initOrthogonal(D, rng);
  initSpectralVectors(G);
  initSpectralVectors(D);
  copyState(G, G_ema);
  return { G, D, G_ema };
}
