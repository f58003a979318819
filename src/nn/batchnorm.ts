/**
 * Batch normalisation as BigGAN uses it: an unconditional output BN with learned
 * gain/bias, and class-conditional BN whose gain (centred at 1) and bias are linear
 * projections of the conditioning vector. Training uses whole-batch statistics (so
 * "cross-replica" BN is the default: one graph sees the whole batch) and writes the
 * running statistics back with momentum 0.1 and the unbiased variance, as torch does.
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module, ForwardContext } from './module.js';
import { SNConfig, SNLinear } from './spectral-norm.js';

export interface BatchStatistics {
  mean: Tensor;
  variance: Tensor;
}

/**
 * Per-channel mean and biased variance over N, H, W, as [C] tensors.
 *
 * The variance's value is the two-pass mean((x - mean)²), as torch computes it; its
 * gradient is routed through E[x²] - E[x]² (the same derivative) and added as an
 * exact zero, so backprop needs only x, which the normalisation keeps anyway, not a
 * second feature-map-sized tensor x - mean (~130 MB of peak memory in a BigGAN-32
 * ch 64 batch-50 G step). Writing the output from x - mean instead would round
 * differently from upstream and can flip near-ties in later max-pools.
 * `noGrad`: nothing will be differentiated through this forward; skip the gradient path.
 */
export function batchStatistics(x: Tensor, opts: { noGrad?: boolean; crossReplicas?: number } = {}): BatchStatistics {
  const c = x.shape[1];
  const axes = [0, 2, 3];
  // cross-replica: means over every replica's batch, from summed per-replica sums
  const replicas = opts.crossReplicas;
  const count = x.shape[0] * x.shape[2] * x.shape[3] * (replicas ?? 1);
  const mean = (t: Tensor): Tensor => (replicas ? op.div(op.crossReplicaSum(op.reduceSum(t, axes, true)), count) : op.reduceMean(t, axes, true));
  const mean4 = mean(x);
  const twoPass = mean(op.square(op.sub(x, mean4)));
  let variance4 = twoPass;
  if (!opts.noGrad) {
    const onePass = op.sub(mean(op.square(x)), op.square(mean4));
    variance4 = op.add(op.stopGradient(twoPass), op.sub(onePass, op.stopGradient(onePass)));
  }
  return { mean: op.reshape(mean4, [c]), variance: op.reshape(variance4, [c]) };
}

/** (x - mean) / sqrt(var + eps) with [C] statistics. */
export function normalizeWith(x: Tensor, mean: Tensor, variance: Tensor, eps: number): Tensor {
  const shape = [1, x.shape[1], 1, 1];
  return op.div(op.sub(x, op.reshape(mean, shape)), op.sqrt(op.add(op.reshape(variance, shape), eps)));
}

/**
 * ((x - mean) / sqrt(var + eps)) * gain + bias, computed as x * A + B with per-channel
 * (or per-sample-and-channel) A = gain / sqrt(var + eps) and B = bias - mean * A: two
 * passes over the feature map instead of four, which matters at sampling time.
 * mean/variance are [C]; gain/bias broadcast against [N, C, 1, 1].
 */
export function scaleShift(x: Tensor, mean: Tensor, variance: Tensor, eps: number, gain: Tensor, bias: Tensor): Tensor {
  const shape = [1, x.shape[1], 1, 1];
  const invStd = op.div(1, op.sqrt(op.add(op.reshape(variance, shape), eps)));
  const a = op.mul(gain, invStd);
  const b = op.sub(bias, op.mul(op.reshape(mean, shape), a));
  return op.add(op.mul(x, a), b);
}

/** Statistics to normalise with, and in training the running-statistic updates. */
export function statisticsFor(ctx: ForwardContext, x: Tensor, runningMean: Param, runningVar: Param, momentum: number): BatchStatistics {
  const g = x.graph;
  if (!ctx.training) return { mean: g.param(runningMean), variance: g.param(runningVar) };
  const stats = batchStatistics(x, { noGrad: ctx.noGrad, crossReplicas: ctx.crossReplicas });
  const n = x.shape[0] * x.shape[2] * x.shape[3] * (ctx.crossReplicas ?? 1);
  const m = op.stopGradient(stats.mean);
  const unbiased = op.mul(op.stopGradient(stats.variance), n / Math.max(n - 1, 1));
  ctx.updates.set(runningMean, op.add(op.mul(g.param(runningMean), 1 - momentum), op.mul(m, momentum)));
  ctx.updates.set(runningVar, op.add(op.mul(g.param(runningVar), 1 - momentum), op.mul(unbiased, momentum)));
  return stats;
}

/** BigGAN-PyTorch layers.bn: output BN with gain/bias and stored statistics. */
export class BatchNorm2d extends Module {
  gain: Param;
  bias: Param;
  stored_mean: Param;
  stored_var: Param;
  constructor(
    readonly channels: number,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
  ) {
    super();
    this.gain = Param.filled('gain', [channels], 1);
    this.bias = Param.zeros('bias', [channels]);
    this.stored_mean = Param.zeros('stored_mean', [channels], false);
    this.stored_var = Param.filled('stored_var', [channels], 1, false);
  }
  forward(ctx: ForwardContext, x: Tensor): Tensor {
    op.expectShape(x, [null, this.channels, null, null], 'BatchNorm2d input');
    const g = x.graph;
    const s = statisticsFor(ctx, x, this.stored_mean, this.stored_var, this.momentum);
    if (!ctx.training) return op.batchNormInference(x, g.param(this.gain), g.param(this.bias), s.mean, s.variance, this.eps);
    const shape = [1, this.channels, 1, 1];
    return scaleShift(x, s.mean, s.variance, this.eps, op.reshape(g.param(this.gain), shape), op.reshape(g.param(this.bias), shape));
  }
}

/** BigGAN-PyTorch layers.ccbn: BN without affine, then * (1 + gain(c)) + bias(c). */
export class ConditionalBatchNorm2d extends Module {
  gain: SNLinear;
  bias: SNLinear;
  stored_mean: Param;
  stored_var: Param;
  constructor(
    readonly channels: number,
    readonly condDim: number,
    sn: SNConfig,
    readonly eps = 1e-5,
    readonly momentum = 0.1,
  ) {
    super();
    this.gain = new SNLinear(condDim, channels, sn, false);
    this.bias = new SNLinear(condDim, channels, sn, false);
    this.stored_mean = Param.zeros('stored_mean', [channels], false);
    this.stored_var = Param.filled('stored_var', [channels], 1, false);
  }
  forward(ctx: ForwardContext, x: Tensor, cond: Tensor): Tensor {
    op.expectShape(x, [null, this.channels, null, null], 'ConditionalBatchNorm2d input');
    op.expectShape(cond, [x.shape[0], this.condDim], 'ConditionalBatchNorm2d condition');
    const s = statisticsFor(ctx, x, this.stored_mean, this.stored_var, this.momentum);
    const shape = [x.shape[0], this.channels, 1, 1];
    const gain = op.reshape(op.add(this.gain.forward(ctx, cond), 1), shape);
    const bias = op.reshape(this.bias.forward(ctx, cond), shape);
    return scaleShift(x, s.mean, s.variance, this.eps, gain, bias);
  }
}

/** A bias-free linear map stored as a [numClasses, out] table (upstream: an nn.Embedding used as ccbn gain/bias). */
export class ClassTable extends Module {
  weight: Param;
  constructor(numClasses: number, out: number) {
    super();
    this.weight = Param.zeros('weight', [numClasses, out]);
  }
  forward(classVector: Tensor): Tensor {
    return op.matmul(classVector, classVector.graph.param(this.weight));
  }
}

/**
 * BigGAN-PyTorch's ccbn without a shared embedding (and SNGAN's categorical conditional BN):
 * BN without affine, then gain 1 + table[class], bias table[class]; the class comes as a
 * float vector [N, classes] (one-hot rows for ids, mixtures for soft classes).
 */
export class ClassTableBatchNorm2d extends Module {
  gain: ClassTable;
  bias: ClassTable;
  stored_mean: Param;
  stored_var: Param;
  constructor(
    readonly channels: number,
    readonly numClasses: number,
    readonly eps: number,
    readonly momentum = 0.1,
  ) {
    super();
    this.gain = new ClassTable(numClasses, channels);
    this.bias = new ClassTable(numClasses, channels);
    this.stored_mean = Param.zeros('stored_mean', [channels], false);
    this.stored_var = Param.filled('stored_var', [channels], 1, false);
  }
  forward(ctx: ForwardContext, x: Tensor, classVector: Tensor): Tensor {
    op.expectShape(x, [null, this.channels, null, null], 'ClassTableBatchNorm2d input');
    op.expectShape(classVector, [x.shape[0], this.numClasses], 'ClassTableBatchNorm2d class vector');
    const s = statisticsFor(ctx, x, this.stored_mean, this.stored_var, this.momentum);
    const shape = [x.shape[0], this.channels, 1, 1];
    const gain = op.reshape(op.add(this.gain.forward(classVector), 1), shape);
    const bias = op.reshape(this.bias.forward(classVector), shape);
    return op.add(op.mul(normalizeWith(x, s.mean, s.variance, this.eps), gain), bias);
  }
}
