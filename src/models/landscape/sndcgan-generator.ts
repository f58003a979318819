/**
 * SNDCGAN generator (Kurach et al. 2019, Table 4; LANDSCAPE.md §1.1), s = R/8, widths in
 * units of ch (the study: ch = 64):
 *
 *   z [zDim] ─ Linear → s·s·8ch ─ BN over those s·s·8ch features of the flat vector ─ ReLU
 *     ─ reshape [8ch, s, s]
 *     ─ Deconv 4x4/2 → 4ch ─ BN ─ ReLU ─ Deconv 4x4/2 → 2ch ─ BN ─ ReLU ─ Deconv 4x4/2 → ch ─ BN ─ ReLU
 *     ─ Deconv 3x3/1 → 3 ─ tanh
 *
 * Every layer has a bias; no spectral norm. The study's G ends in (tanh + 1)/2 and its D
 * starts with 2x - 1, i.e. the networks talk in [-1, 1]: our images are [-1, 1], so tanh is
 * the output. The reshape reads the linear's output as NCHW (TF reads it NHWC): a permutation
 * of the linear's rows, the same model trained from scratch.
 */
import { Tensor } from '../../engine/graph.js';
import * as op from '../../engine/ops.js';
import { Module, ForwardContext } from '../../nn/module.js';
import { ConvTranspose2d, Linear } from '../../nn/plain-layers.js';
import type { GeneratorInputs, GeneratorModel } from '../interfaces.js';
import { applyGBatchNorm, gBatchNorm, generatorInputs, type GBatchNorm } from './g-layers.js';
import type { LandscapeGeneratorConfig } from './landscape-config.js';

export const SNDCGAN_RESOLUTIONS = [32, 128] as const;

/** Table 4 (G): the linear's width, then each 4x4 stride-2 deconv's, in units of ch. */
export const SNDCGAN_G_WIDTHS = [8, 4, 2, 1] as const;

export class SndcganGenerator extends Module implements GeneratorModel {
  readonly kind = 'sndcgan';
  readonly usesTruncation = false;
  readonly resolution: number;
  readonly zDim: number;
  readonly numClasses: number;
  /** Side of the first feature map (R/8). */
  readonly bottom: number;

  linear: Linear;
  linear_bn: GBatchNorm;
  deconvs: ConvTranspose2d[];
  bns: GBatchNorm[];
  to_rgb: ConvTranspose2d;

  constructor(readonly config: LandscapeGeneratorConfig) {
    super();
    const { ch, bnEps } = config;
    const classes = config.conditional ? config.numClasses : null;
    this.resolution = config.resolution;
    this.zDim = config.zDim;
    this.numClasses = config.numClasses;
    this.bottom = config.resolution / 8;
    const flat = this.bottom * this.bottom * SNDCGAN_G_WIDTHS[0] * ch;
    this.linear = new Linear(config.zDim, flat);
    this.linear_bn = gBatchNorm(flat, bnEps, classes);
    const widths = SNDCGAN_G_WIDTHS.map((w) => w * ch);
    this.deconvs = widths.slice(1).map((w, i) => new ConvTranspose2d(widths[i], w, 4, 2));
    this.bns = widths.slice(1).map((w) => gBatchNorm(w, bnEps, classes));
    this.to_rgb = new ConvTranspose2d(widths[widths.length - 1], 3, 3, 1);
    this.nameParams();
  }

  /** Images [N, 3, R, R] in [-1, 1]. */
  forward(ctx: ForwardContext, inputs: GeneratorInputs): Tensor {
    const { z, n, classVector: cv } = generatorInputs(inputs, this.config);
    const flat = this.linear.outFeatures;
    // BN over the features of the flat vector: a [N, F, 1, 1] map has exactly those as channels
    let h = op.relu(applyGBatchNorm(this.linear_bn, ctx, op.reshape(this.linear.forward(ctx, z), [n, flat, 1, 1]), cv));
    h = op.reshape(h, [n, flat / (this.bottom * this.bottom), this.bottom, this.bottom]);
    this.deconvs.forEach((deconv, i) => {
      h = op.relu(applyGBatchNorm(this.bns[i], ctx, deconv.forward(ctx, h), cv));
    });
    const image = op.tanh(this.to_rgb.forward(ctx, h));
    op.expectShape(image, [n, 3, this.resolution, this.resolution], 'generator output');
    return image;
  }
}
