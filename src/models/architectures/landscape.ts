/**
 * What the GAN-landscape architectures (sndcgan.ts, resnet19.ts, resnet-cifar.ts) share in
 * the registry: their configs (landscape/landscape-config.ts) from a run's options, the
 * study's initialisation, the class tables exempt from orthogonal regularisation, and the
 * checkpoint specs { arch, role, config }.
 *
 * Initialisation: every weight matrix and kernel N(0, 0.02), biases 0, BN gain 1 and bias 0
 * (compare_gan v3's default initializer for every kernel; v2 used a truncated normal for
 * the ResNet convs); the conditional BN's class tables stay 0, so a fresh conditional G is
 * the unconditional one.
 */
import type { Param } from '../../engine/graph.js';
import { ClassTable } from '../../nn/batchnorm.js';
import type { Module } from '../../nn/module.js';
import type { Rng } from '../../random/rng.js';
import type { Architecture, ArchitectureDefaults, ArchitectureOptions, ModelSpec } from '../architecture-entry.js';
import type { DiscriminatorModel, GeneratorModel } from '../interfaces.js';
import { D_NORMS, RESNET_BN_EPS, type DNorm } from '../landscape/d-layers.js';
import { ResNetDiscriminator, type ResNetDiscriminatorTable } from '../landscape/resnet-discriminator.js';
import { ResNetGenerator, type ResNetGeneratorTable } from '../landscape/resnet-generator.js';
import {
  readLandscapeDiscriminatorConfig, readLandscapeGeneratorConfig, type LandscapeDiscriminatorConfig, type LandscapeGeneratorConfig,
} from '../landscape/landscape-config.js';

export const LANDSCAPE_INIT_STD = 0.02;

/** The weights of a model's conditional-BN class tables. */
function classTables(model: Module): Param[] {
  return model.namedModules().flatMap(([, m]) => (m instanceof ClassTable ? [m.weight] : []));
}

export function initLandscape(model: Module, rng: Rng): void {
  const tables = new Set(classTables(model));
  for (const [, p] of model.namedParams()) {
    if (p.trainable && p.shape.length >= 2 && !tables.has(p)) rng.fillNormal(p.data, LANDSCAPE_INIT_STD);
  }
}

export interface LandscapeDescription {
  name: string;
  summary: string;
  resolutions: readonly number[];
  defaultResolution: number;
  dNorms: readonly DNorm[];
  defaults: (resolution: number) => ArchitectureDefaults;
  generator: (config: LandscapeGeneratorConfig) => GeneratorModel & { config: LandscapeGeneratorConfig };
  discriminator: (config: LandscapeDiscriminatorConfig) => DiscriminatorModel & { config: LandscapeDiscriminatorConfig };
}

const generatorConfig = (o: ArchitectureOptions): LandscapeGeneratorConfig => ({
  resolution: o.resolution, ch: o.gCh, zDim: o.dimZ, numClasses: o.numClasses, conditional: o.conditional, bnEps: o.bnEps,
});

const discriminatorConfig = (o: ArchitectureOptions): LandscapeDiscriminatorConfig => ({
  resolution: o.resolution, ch: o.dCh, numClasses: o.numClasses, conditional: o.conditional, norm: o.dNorm, snEps: o.snEps,
});

export function landscapeArchitecture(d: LandscapeDescription): Architecture {
  const spec = (role: 'G' | 'D', config: object): ModelSpec => ({ arch: d.name, role, config });
  return {
    name: d.name,
    summary: d.summary,
    resolutions: d.resolutions,
    defaultResolution: d.defaultResolution,
    dNorms: d.dNorms,
    unusedOptions: ['sharedDim', 'hier', 'gAttn', 'dAttn'],
    defaults: d.defaults,
    problem: () => null,
    buildGenerator: (o) => d.generator(generatorConfig(o)),
    buildDiscriminator: (o) => d.discriminator(discriminatorConfig(o)),
    initialize: initLandscape,
    orthoExempt: (G) => classTables(G),
    generatorSpec: (G) => spec('G', (G as GeneratorModel & { config: LandscapeGeneratorConfig }).config),
    discriminatorSpec: (D) => spec('D', (D as DiscriminatorModel & { config: LandscapeDiscriminatorConfig }).config),
    readGeneratorSpec: (f) => spec('G', readLandscapeGeneratorConfig(f.object('config'), d.resolutions)),
    readDiscriminatorSpec: (f) => spec('D', readLandscapeDiscriminatorConfig(f.object('config'), d.resolutions, d.dNorms)),
    generatorFromSpec: (s) => d.generator(s.config as LandscapeGeneratorConfig),
    discriminatorFromSpec: (s) => d.discriminator(s.config as LandscapeDiscriminatorConfig),
  };
}

/** A GAN-landscape ResNet (resnet-generator.ts, resnet-discriminator.ts) from its tables: one resolution, every D norm, z 128. */
export function resnetArchitecture(name: string, summary: string, ch: number, g: ResNetGeneratorTable, d: ResNetDiscriminatorTable): Architecture {
  return landscapeArchitecture({
    name,
    summary,
    resolutions: [g.resolution],
    defaultResolution: g.resolution,
    dNorms: D_NORMS,
    defaults: () => ({ gCh: ch, dCh: ch, dimZ: 128, bnEps: RESNET_BN_EPS }),
    generator: (c) => new ResNetGenerator(name, g, c),
    discriminator: (c) => new ResNetDiscriminator(name, d, c),
  });
}
