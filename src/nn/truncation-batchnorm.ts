/**
 * pytorch-pretrained-BigGAN's BatchNorm: no batch statistics at sampling time, but a
 * table of n_stats (51) mean/variance rows, one per truncation 0, 0.02, ..., 1, picked
 * and blended by the truncation value. The lookup reproduces the port's exact quirks:
 * float64 index math (t / (1/50), not t * 50), weight `coef` on the lower row and
 * `1 - coef` on the upper one (swapped relative to a lerp), and the lower row alone
 * when coef is exactly 0.
 */
import { Param, Tensor } from '../engine/graph.js';
import * as op from '../engine/ops.js';
import { Module, ForwardContext } from './module.js';
import { SNConfig, SNLinear } from './spectral-norm.js';
import { batchStatistics, scaleShift } from './batchnorm.js';

/** Which rows of the statistics tables a truncation value selects; shared by every BN of a forward pass. */
export interface StatRows {
  lower: Tensor; // int64 [1]
  upper: Tensor; // int64 [1]
  wLower: Tensor; // float32 scalar: coef
  wUpper: Tensor; // float32 scalar: 1 - coef (computed in float64, then rounded, as torch does with a Python float)
  exact?: Tensor; // bool scalar: coef == 0 (absent when the caller's weights already encode it)
}

/** The selection as graph inputs computed outside (stat-row-selection.ts): rows int64 [2], weights float32 [2]. */
export interface StatRowInputs {
  rows: Tensor;
  weights: Tensor;
}

export function statRowsFromInputs(inputs: StatRowInputs): StatRows {
  op.expectShape(inputs.rows, [2], 'bn_rows');
  op.expectShape(inputs.weights, [2], 'bn_row_weights');
  if (inputs.rows.dtype !== 'int64' || inputs.weights.dtype !== 'float32') throw new Error('bn_rows must be int64 and bn_row_weights float32');
  return {
    lower: op.slice(inputs.rows, 0, 0, 1),
    upper: op.slice(inputs.rows, 0, 1, 2),
    wLower: op.reshape(op.slice(inputs.weights, 0, 0, 1), []),
    wUpper: op.reshape(op.slice(inputs.weights, 0, 1, 2), []),
  };
}

/** `truncation` is a float64 [1] tensor in (0, 1]. */
export function selectStatRows(truncation: Tensor, nStats: number): StatRows {
  op.expectShape(truncation, [1], 'truncation');
  if (truncation.dtype !== 'float64') throw new Error('truncation must be float64 so the row index matches the reference');
  const step = 1.0 / (nStats - 1);
  const q = op.div(truncation, step);
  const lowerF = op.floor(q);
  const coef = op.sub(q, lowerF);
  const lower = op.cast(lowerF, 'int64');
  const upper = op.minimum(op.add(lower, 1), nStats - 1);
  return {
    lower,
    upper,
    wLower: op.reshape(op.cast(coef, 'float32'), []),
    wUpper: op.reshape(op.cast(op.sub(1, coef), 'float32'), []),
    exact: op.reshape(op.equal(coef, 0), []),
  };
}

function pickRow(table: Tensor, rows: StatRows): Tensor {
  const c = table.shape[1];
  const lo = op.reshape(op.gather(table, rows.lower, 0), [c]);
  const hi = op.reshape(op.gather(table, rows.upper, 0), [c]);
  const blend = op.add(op.mul(lo, rows.wLower), op.mul(hi, rows.wUpper));
  return rows.exact ? op.where(rows.exact, lo, blend) : blend;
}

export class TruncationBatchNorm2d extends Module {
  running_means: Param;
  running_vars: Param;
  /** Conditional: SN linears of the condition (no bias); unconditional: plain weight/bias. */
  scale?: SNLinear;
  offset?: SNLinear;
  weight?: Param;
  bias?: Param;

  constructor(
    readonly channels: number,
    readonly condDim: number | null,
    sn: SNConfig,
    readonly nStats = 51,
    readonly eps = 1e-4,
    readonly momentum = 0.1,
  ) {
    super();
    this.running_means = Param.zeros('running_means', [nStats, channels], false);
    this.running_vars = Param.filled('running_vars', [nStats, channels], 1, false);
    if (condDim !== null) {
      this.scale = new SNLinear(condDim, channels, sn, false);
      this.offset = new SNLinear(condDim, channels, sn, false);
    } else {
      this.weight = Param.filled('weight', [channels], 1);
      this.bias = Param.zeros('bias', [channels]);
    }
  }

  /**
   * rows: the truncation's row selection (sampling with n_stats > 1); null uses row 0
   * (models trained here keep one row of standing statistics).
   */
  forward(ctx: ForwardContext, x: Tensor, rows: StatRows | null, cond?: Tensor): Tensor {
    op.expectShape(x, [null, this.channels, null, null], 'TruncationBatchNorm2d input');
    const g = x.graph;
    let mean: Tensor;
    let variance: Tensor;
    if (ctx.training) {
      ({ mean, variance } = batchStatistics(x, { noGrad: ctx.noGrad }));
      if (this.nStats !== 1) throw new Error('training needs a single row of BN statistics (n_stats = 1)');
      const n = x.shape[0] * x.shape[2] * x.shape[3];
      const m = this.momentum;
      const old = (p: Param) => op.reshape(g.param(p), [this.channels]);
      const unbiased = op.mul(op.stopGradient(variance), n / Math.max(n - 1, 1));
      ctx.updates.set(this.running_means, op.reshape(op.add(op.mul(old(this.running_means), 1 - m), op.mul(op.stopGradient(mean), m)), [1, this.channels]));
      ctx.updates.set(this.running_vars, op.reshape(op.add(op.mul(old(this.running_vars), 1 - m), op.mul(unbiased, m)), [1, this.channels]));
    } else if (rows) {
      mean = pickRow(g.param(this.running_means), rows);
      variance = pickRow(g.param(this.running_vars), rows);
    } else {
      mean = op.reshape(op.slice(g.param(this.running_means), 0, 0, 1), [this.channels]);
      variance = op.reshape(op.slice(g.param(this.running_vars), 0, 0, 1), [this.channels]);
    }
    if (this.scale && this.offset) {
      if (!cond) throw new Error('conditional TruncationBatchNorm2d needs a condition vector');
      const shape = [x.shape[0], this.channels, 1, 1];
      const weight = op.reshape(op.add(this.scale.forward(ctx, cond), 1), shape);
      const bias = op.reshape(this.offset.forward(ctx, cond), shape);
      return scaleShift(x, mean, variance, this.eps, weight, bias);
    }
    if (!ctx.training) return op.batchNormInference(x, g.param(this.weight!), g.param(this.bias!), mean, variance, this.eps);
    const shape = [1, this.channels, 1, 1];
    return scaleShift(x, mean, variance, this.eps, op.reshape(g.param(this.weight!), shape), op.reshape(g.param(this.bias!), shape));
  }
}
