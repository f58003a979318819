/**
 * The networks of a run, from its config: G, D and G_ema (a separate copy of G), built
 * and initialised by the architecture's registry entry (models/architectures.ts; BigGAN:
 * orthogonal, the paper's choice) from the run's 'init' stream, with the spectral-norm
 * vectors set by a few power iterations so sigma is right from the first step.
 */
import { Module } from '../../nn/module.js';
import { initSpectralVectors } from '../../nn/init.js';
import type { DiscriminatorModel, GeneratorModel } from '../../models/interfaces.js';
import type { ArchitectureOptions } from '../../models/architecture-entry.js';
import { architecture } from '../../models/architectures.js';
import type { TrainConfig } from './config.js';
import { streamRng } from './latents.js';

export interface RunModels {
  G: GeneratorModel;
  D: DiscriminatorModel;
  G_ema: GeneratorModel;
}

/** What the architecture builds for a run on data with `dataClasses` classes (one class when unconditional). */
export function architectureOptions(c: TrainConfig, dataClasses: number): ArchitectureOptions {
  return {
    resolution: c.resolution, gCh: c.gCh, dCh: c.dCh, dimZ: c.dimZ, numClasses: c.unconditional ? 1 : dataClasses, conditional: !c.unconditional,
    dNorm: c.dNorm, bnEps: c.bnEps, snEps: c.snEps, sharedDim: c.sharedDim, hier: c.hier, gAttn: c.gAttn, dAttn: c.dAttn,
  };
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

/** The networks of a run on data with `numClasses` classes; initialised unless `init` is false (a checkpoint will fill them). */
export function buildRunModels(c: TrainConfig, numClasses: number, opts: { init?: boolean } = {}): RunModels {
  const arch = architecture(c.arch, '--arch');
  const o = architectureOptions(c, numClasses);
  const G = arch.buildGenerator(o);
  const D = arch.buildDiscriminator(o);
  const G_ema = arch.buildGenerator(o);
  if (opts.init === false) return { G, D, G_ema };
  const rng = streamRng(c.seed, 'init', 0);
  arch.initialize(G, rng);
  arch.initialize(D, rng);
  initSpectralVectors(G);
  initSpectralVectors(D);
  copyState(G, G_ema);
  return { G, D, G_ema };
}
