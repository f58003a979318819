/**
 * BigGAN-deep generator in pytorch-pretrained-BigGAN's structure (ARCHITECTURES.md
 * §2.3, §4.1, §5); its pytorch_model.bin / config.json load through
 * layouts/pretrained-biggan-loader.ts:
 *
 *   embed = class_vector @ Eᵀ                    (E [128, classes], no SN)
 *   cond  = concat(z, embed)                     (z first: TF-Hub / HF order, §1 #9)
 *   h     = gen_z(cond) read as [N, 4, 4, C], then NCHW   (§1 #10)
 *   h     = blocks (SelfAttention before block attention_layer_position)
 *   out   = tanh(to_rgb(relu(out_bn(h)))[:, :3])  (to_rgb keeps C channels, §1 #11)
 *
 * Every BN picks its statistics by truncation (TruncationBatchNorm2d) when the model
 * has n_stats > 1 rows (the pretrained ones); with n_stats = 1 (models trained here)
 * the single row holds standing statistics and truncation is not an input.
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module, ForwardContext } from '../nn/module.js';
import { SNConfig, SNConv2d, SNLinear } from '../nn/spectral-norm.js';
import { SelfAttention } from '../nn/attention.js';
import { StatRows, TruncationBatchNorm2d, selectStatRows, statRowsFromInputs } from '../nn/truncation-batchnorm.js';
import { GeneratorInputs, GeneratorModel } from './interfaces.js';
import { BigGanDeepConfig, blockResolutions, hasAttention, validateBigGanDeepConfig } from './biggan-deep-config.js';

/** Intermediate values by name, filled when a map is passed to forward (tests, debugging). */
export type GeneratorTaps = Map<string, Tensor>;

/**
 * One generator block (HF GenBlock): a bottleneck ResBlock with four conditional BNs.
 * The skip path drops to the first in/2 channels when in ≠ out (HF: x[:, :in//2]).
 */
export class DeepGBlock extends Module {
  bn0: TruncationBatchNorm2d;
  conv0: SNConv2d;
  bn1: TruncationBatchNorm2d;
  conv1: SNConv2d;
  bn2: TruncationBatchNorm2d;
  conv2: SNConv2d;
  bn3: TruncationBatchNorm2d;
  conv3: SNConv2d;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly up: boolean,
    condDim: number,
    sn: SNConfig,
    nStats: number,
    eps: number,
  ) {
    super();
    const mid = Math.floor(inChannels / 4);
    this.bn0 = new TruncationBatchNorm2d(inChannels, condDim, sn, nStats, eps);
    this.conv0 = new SNConv2d(inChannels, mid, 1, sn);
    this.bn1 = new TruncationBatchNorm2d(mid, condDim, sn, nStats, eps);
    this.conv1 = new SNConv2d(mid, mid, 3, sn);
    this.bn2 = new TruncationBatchNorm2d(mid, condDim, sn, nStats, eps);
    this.conv2 = new SNConv2d(mid, mid, 3, sn);
    this.bn3 = new TruncationBatchNorm2d(mid, condDim, sn, nStats, eps);
    this.conv3 = new SNConv2d(mid, outChannels, 1, sn);
  }

  forward(ctx: ForwardContext, x: Tensor, cond: Tensor, rows: StatRows | null): Tensor {
    op.expectShape(x, [null, this.inChannels, null, null], 'DeepGBlock input');
    let h = this.conv0.forward(ctx, op.relu(this.bn0.forward(ctx, x, rows, cond)));
    h = op.relu(this.bn1.forward(ctx, h, rows, cond));
    h = this.up ? this.conv1.forwardUpsampled(ctx, h) : this.conv1.forward(ctx, h);
    h = this.conv2.forward(ctx, op.relu(this.bn2.forward(ctx, h, rows, cond)));
    h = this.conv3.forward(ctx, op.relu(this.bn3.forward(ctx, h, rows, cond)));
    let skip = this.inChannels !== this.outChannels ? op.slice(x, 1, 0, Math.floor(this.inChannels / 2)) : x;
    if (this.up) skip = op.upsampleNearest(skip, 2);
    return op.add(h, skip);
  }
}

export class BigGanDeepGenerator extends Module implements GeneratorModel {
  readonly kind = 'biggan-deep' as const;
  readonly resolution: number;
  readonly zDim: number;
  readonly numClasses: number;
  readonly usesTruncation: boolean;
  readonly truncationStatRows?: number;

  /** [class_embed_dim, num_classes]: HF's Linear weight, applied to (soft) class vectors. */
  class_embedding: Param;
  gen_z: SNLinear;
  blocks: DeepGBlock[];
  /** Runs before blocks[config.attention_layer_position]. */
  attention?: SelfAttention;
  out_bn: TruncationBatchNorm2d;
  to_rgb: SNConv2d;

  constructor(
    readonly config: BigGanDeepConfig,
    /** HF: torch spectral_norm (stored u and v) with eps = config.eps. */
    readonly sn: SNConfig = { flavour: 'torch', eps: config.eps },
  ) {
    super();
    const cfg = validateBigGanDeepConfig(config, 'BigGAN-deep config');
    const ch = cfg.channel_width;
    const condDim = cfg.z_dim + cfg.class_embed_dim;
    this.resolution = cfg.output_dim;
    this.zDim = cfg.z_dim;
    this.numClasses = cfg.num_classes;
    this.usesTruncation = cfg.n_stats > 1;
    if (this.usesTruncation) this.truncationStatRows = cfg.n_stats;

    this.class_embedding = Param.zeros('class_embedding', [cfg.class_embed_dim, cfg.num_classes]);
    this.gen_z = new SNLinear(condDim, 4 * 4 * cfg.layers[0][1] * ch, sn);
    this.blocks = cfg.layers.map(([up, a, b]) => new DeepGBlock(a * ch, b * ch, up, condDim, sn, cfg.n_stats, cfg.eps));
    if (hasAttention(cfg)) {
      // HF stores gamma as a [1] tensor
      this.attention = new SelfAttention(cfg.layers[cfg.attention_layer_position][1] * ch, sn, [1]);
    }
    const last = cfg.layers[cfg.layers.length - 1][2] * ch;
    this.out_bn = new TruncationBatchNorm2d(last, null, sn, cfg.n_stats, cfg.eps);
    this.to_rgb = new SNConv2d(last, last, 3, sn);
    this.nameParams();
  }

  /** Class embeddings [N, class_embed_dim] from ids (row lookup) or float class vectors (linear combination). */
  embed(classes: GeneratorInputs['classes']): Tensor {
    const [dim, numClasses] = this.class_embedding.shape;
    const E = this.class_embedding;
    if ('ids' in classes) {
      op.expectShape(classes.ids, [null], 'class ids');
      return op.gather(op.transpose(classes.ids.graph.param(E), [1, 0]), classes.ids, 0);
    }
    const v = classes.vector;
    op.expectShape(v, [null, numClasses], 'class vector');
    const out = op.matmul(v, op.transpose(v.graph.param(E), [1, 0]));
    op.expectShape(out, [v.shape[0], dim], 'class embedding');
    return out;
  }

  forward(ctx: ForwardContext, inputs: GeneratorInputs, taps?: GeneratorTaps): Tensor {
    const { z } = inputs;
    const n = z.shape[0];
    op.expectShape(z, [null, this.zDim], 'z');
    const rows = this.statRows(ctx, inputs);
    const embed = this.embed(inputs.classes);
    op.expectShape(embed, [n, this.config.class_embed_dim], 'class embedding');
    taps?.set('class_embedding', embed);
    const cond = op.concat([z, embed], 1);

    const c0 = this.blocks[0].inChannels;
    const lin = this.gen_z.forward(ctx, cond);
    taps?.set('gen_z', lin);
    // TF weight layout: the linear's output is [4, 4, C] channels-last
    let h = op.transpose(op.reshape(lin, [n, 4, 4, c0]), [0, 3, 1, 2]);

    const resolutions = blockResolutions(this.config);
    this.blocks.forEach((block, i) => {
      if (this.attention && i === this.config.attention_layer_position) {
        h = this.attention.forward(ctx, h);
        taps?.set('attention', h);
      }
      h = block.forward(ctx, h, cond, rows);
      op.expectShape(h, [n, block.outChannels, resolutions[i], resolutions[i]], `block ${i} output`);
      taps?.set(`blocks.${i}`, h);
    });

    h = this.out_bn.forward(ctx, h, rows);
    taps?.set('out_bn', h);
    h = op.relu(h);
    if (taps) {
      h = this.to_rgb.forward(ctx, h);
      taps.set('to_rgb', h);
      h = op.slice(h, 1, 0, 3);
    } else {
      // Only channels 0..2 are kept: convolve with those filters alone (sigma still comes
      // from the whole weight). Same numbers, a fifth of the generator's FLOPs saved at 128.
      const W = op.slice(this.to_rgb.w.normalized(h.graph, ctx), 0, 0, 3);
      h = op.conv2d(h, W, op.slice(h.graph.param(this.to_rgb.bias!), 0, 0, 3), { pad: 1 });
    }
    const img = op.tanh(h);
    op.expectShape(img, [n, 3, this.resolution, this.resolution], 'generated images');
    return img;
  }

  /** BN row selection for sampling with per-truncation statistics; null for a single row or in training. */
  private statRows(ctx: ForwardContext, inputs: GeneratorInputs): StatRows | null {
    if (!this.usesTruncation || ctx.training) return null;
    if (inputs.statRows) return statRowsFromInputs(inputs.statRows);
    const truncation = inputs.truncation;
    if (!truncation) throw new Error('this BigGAN-deep model selects BN statistics by truncation: pass a float64 [1] truncation input');
    return selectStatRows(truncation, this.config.n_stats);
  }
}
