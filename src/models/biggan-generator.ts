/**
 * BigGAN generator with BigGAN-PyTorch's structure (BigGAN.py `Generator`):
 *
 *   z ─┬─ chunk 0 ─ SNLinear ─ view [C, 4, 4] (NCHW directly; C = 16ch, 4ch at 32x32)
 *      └─ chunk k ─┐
 *   class ─ shared embedding ─ concat [embedding, chunk k] = condition of block k-1
 *   blocks: ResBlock up (GBlock), each optionally followed by self-attention
 *   head:   BN ─ ReLU ─ SNConv3x3 (→ 3) ─ tanh
 *
 * Without `hier` the whole z feeds the linear and every block is conditioned on the
 * embedding alone; without a shared embedding the conditional BNs hold per-class
 * gain/bias tables. Spectral norm is ajbrock's flavour (one power iteration from the
 * stored u on every forward). Fields are declared in upstream registration order, so
 * our state dict lists modules in the checkpoint's order.
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module, ForwardContext } from '../nn/module.js';
import { SNConfig, SNConv2d, SNLinear } from '../nn/spectral-norm.js';
import { BatchNorm2d, ClassTableBatchNorm2d, ConditionalBatchNorm2d } from '../nn/batchnorm.js';
import { SelfAttention } from '../nn/attention.js';
import { ClassInput, GeneratorInputs, GeneratorModel } from './interfaces.js';
import { BigGANGeneratorConfig, BigGANResolution, generatorBlockCount } from './biggan-config.js';
import { classVectorOf } from './class-input.js';

/** Optional per-module outputs, keyed by our module path ('shared', 'linear', 'blocks.0', 'attention.3', ...). */
export type Taps = Map<string, Tensor>;

/** Widths in units of ch: the linear's output, then each block's output (BigGAN.py G_arch). */
export const GENERATOR_WIDTHS: Record<BigGANResolution, readonly number[]> = {
  32: [4, 4, 4, 4],
  64: [16, 16, 8, 4, 2],
  128: [16, 16, 8, 4, 2, 1],
  256: [16, 16, 8, 8, 4, 2, 1],
  512: [16, 16, 8, 8, 4, 2, 1, 1],
};

export interface GeneratorBlockSpec {
  inChannels: number;
  outChannels: number;
  /** Output side length (every block doubles it). */
  resolution: number;
  attention: boolean;
}

export function generatorArch(cfg: BigGANGeneratorConfig): GeneratorBlockSpec[] {
  const widths = GENERATOR_WIDTHS[cfg.resolution];
  return widths.slice(1).map((w, i) => {
    const resolution = 8 << i;
    return { inChannels: widths[i] * cfg.ch, outChannels: w * cfg.ch, resolution, attention: cfg.attention.includes(resolution) };
  });
}

/** The shared class embedding: a plain table (no SN), rows picked by id or mixed by a class vector. */
export class ClassEmbedding extends Module {
  weight: Param;
  constructor(
    readonly numClasses: number,
    readonly dim: number,
  ) {
    super();
    this.weight = Param.zeros('weight', [numClasses, dim]);
  }
  forward(classes: ClassInput, n: number): Tensor {
    const w = ('ids' in classes ? classes.ids : classes.vector).graph.param(this.weight);
    if ('ids' in classes) {
      op.expectShape(classes.ids, [n], 'class ids');
      return op.gather(w, classes.ids, 0);
    }
    // vector @ table equals the row lookup for one-hot vectors and blends rows for soft ones
    op.expectShape(classes.vector, [n, this.numClasses], 'class vector');
    return op.matmul(classes.vector, w);
  }
}

type BlockBN = ConditionalBatchNorm2d | ClassTableBatchNorm2d;

/** ResBlock up (layers.GBlock): both paths upsampled; the 1x1 shortcut conv runs after upsampling. */
export class GBlock extends Module {
  conv1: SNConv2d;
  conv2: SNConv2d;
  shortcut: SNConv2d;
  bn1: BlockBN;
  bn2: BlockBN;
  constructor(
    readonly spec: GeneratorBlockSpec,
    makeBN: (channels: number) => BlockBN,
    sn: SNConfig,
  ) {
    super();
    const { inChannels: cin, outChannels: cout } = spec;
    this.conv1 = new SNConv2d(cin, cout, 3, sn);
    this.conv2 = new SNConv2d(cout, cout, 3, sn);
    this.shortcut = new SNConv2d(cin, cout, 1, sn); // upsampling blocks always have a learned shortcut
    this.bn1 = makeBN(cin);
    this.bn2 = makeBN(cout);
  }
  forward(ctx: ForwardContext, x: Tensor, cond: Tensor): Tensor {
    op.expectShape(x, [null, this.spec.inChannels, this.spec.resolution / 2, this.spec.resolution / 2], 'GBlock input');
    let h = op.relu(this.bn1.forward(ctx, x, cond));
    h = this.conv1.forwardUpsampled(ctx, h); // upsample, then conv1
    h = this.conv2.forward(ctx, op.relu(this.bn2.forward(ctx, h, cond)));
    return op.add(h, this.shortcut.forwardUpsampled(ctx, x)); // upsample, then the 1x1 shortcut
  }
}

export class BigGANGenerator extends Module implements GeneratorModel {
  readonly kind = 'biggan' as const;
  readonly usesTruncation = false;
  readonly resolution: number;
  readonly zDim: number;
  readonly numClasses: number;
  readonly arch: GeneratorBlockSpec[];
  /** Width of each z chunk (0 without hier). */
  readonly zChunk: number;

  shared?: ClassEmbedding;
  linear: SNLinear;
  blocks: GBlock[];
  /** attention[i] follows blocks[i] (upstream: blocks.i.1); holes where there is none. */
  attention: (SelfAttention | undefined)[];
  out_bn: BatchNorm2d;
  to_rgb: SNConv2d;

  constructor(readonly config: BigGANGeneratorConfig) {
    super();
    const cfg = config;
    const sn: SNConfig = { flavour: 'ajbrock', eps: cfg.snEps };
    this.resolution = cfg.resolution;
    this.zDim = cfg.zDim;
    this.numClasses = cfg.numClasses;
    this.arch = generatorArch(cfg);
    if (this.arch.length !== generatorBlockCount(cfg.resolution)) throw new Error('generator arch table out of step with the block count');
    this.zChunk = cfg.hier ? cfg.zDim / (this.arch.length + 1) : 0;
    const condDim = cfg.sharedEmbedding ? cfg.sharedDim + this.zChunk : cfg.numClasses;
    const makeBN = (c: number): BlockBN =>
      cfg.sharedEmbedding ? new ConditionalBatchNorm2d(c, condDim, sn, cfg.bnEps) : new ClassTableBatchNorm2d(c, cfg.numClasses, cfg.bnEps);

    if (cfg.sharedEmbedding) this.shared = new ClassEmbedding(cfg.numClasses, cfg.sharedDim);
    this.linear = new SNLinear(cfg.hier ? this.zChunk : cfg.zDim, this.arch[0].inChannels * 16, sn);
    this.blocks = this.arch.map((spec) => new GBlock(spec, makeBN, sn));
    this.attention = this.arch.map((spec) => (spec.attention ? new SelfAttention(spec.outChannels, sn) : undefined));
    const last = this.arch[this.arch.length - 1].outChannels;
    this.out_bn = new BatchNorm2d(last, cfg.outputBnEps);
    this.to_rgb = new SNConv2d(last, 3, 3, sn);
    this.nameParams();
  }

  /** Images [N, 3, R, R] in [-1, 1]; `taps` (optional) receives each module's output. */
  forward(ctx: ForwardContext, inputs: GeneratorInputs, taps?: Taps): Tensor {
    const { z, classes } = inputs;
    op.expectShape(z, [null, this.zDim], 'generator z');
    const n = z.shape[0];
    const tap = (name: string, t: Tensor): Tensor => (taps?.set(name, t), t);

    // Class part of the condition: the shared embedding, or the class vector itself for per-class tables.
    const classCond = this.shared ? tap('shared', this.shared.forward(classes, n)) : classVectorOf(classes, n, this.numClasses);
    const zPart = (k: number): Tensor => op.slice(z, 1, k * this.zChunk, (k + 1) * this.zChunk);
    // Upstream order: class embedding first, then the block's z chunk.
    const conds = this.blocks.map((_, i) => (this.config.hier ? op.concat([classCond, zPart(i + 1)], 1) : classCond));

    let h = tap('linear', this.linear.forward(ctx, this.config.hier ? zPart(0) : z));
    h = op.reshape(h, [n, this.arch[0].inChannels, 4, 4]);
    this.blocks.forEach((block, i) => {
      h = tap(`blocks.${i}`, block.forward(ctx, h, conds[i]));
      const attn = this.attention[i];
      if (attn) h = tap(`attention.${i}`, attn.forward(ctx, h));
    });
    h = op.relu(this.out_bn.forward(ctx, h));
    const image = op.tanh(this.to_rgb.forward(ctx, h));
    op.expectShape(image, [n, 3, this.resolution, this.resolution], 'generator output');
    return image;
  }
}
