/**
 * Standing statistics (paper Appendix C / BigGAN-PyTorch utils.accumulate_standing_stats):
 * the BN statistics a generator uses at sampling time, gathered by running it in
 * training mode (batch statistics) over many batches of training-distribution latents
 * and random classes, and averaging each BN's batch mean and unbiased batch variance
 * over the passes (upstream's momentum=None cumulative average). A generator carrying
 * them samples with fixed statistics, so an image does not depend on the sampling batch.
 *
 * One compiled graph per generator and batch size: the weights are fed as inputs
 * (they change between checkpoints) and the old running statistics are fed as zeros,
 * so each BN's running-statistic update equals momentum × the batch statistic.
 */
import { Graph, Param, Tensor } from '../../engine/graph.js';
import { exportOnnx } from '../../engine/onnx-export.js';
import { CompiledGraph, Feed, RuntimeOptions } from '../../engine/runtime.js';
import { ForwardContext, Module, trainContext } from '../../nn/module.js';
import { BatchNorm2d, ClassTableBatchNorm2d, ConditionalBatchNorm2d } from '../../nn/batchnorm.js';
import { TruncationBatchNorm2d } from '../../nn/truncation-batchnorm.js';
import type { GeneratorModel } from '../../models/interfaces.js';

export interface BnStatEntry {
  /** State-dict path of the statistic. */
  path: string;
  param: Param;
  /** The running-average momentum its BN updates with. */
  momentum: number;
}

/** Every BN running statistic of a model (means and variances), with its BN's momentum. */
export function bnStatEntries(model: Module): BnStatEntry[] {
  const paths = new Map(model.namedParams().map(([path, p]) => [p, path]));
  const out: BnStatEntry[] = [];
  const add = (p: Param, momentum: number): void => {
    out.push({ path: paths.get(p)!, param: p, momentum });
  };
  for (const [, m] of model.namedModules()) {
    if (m instanceof BatchNorm2d || m instanceof ConditionalBatchNorm2d || m instanceof ClassTableBatchNorm2d) {
      add(m.stored_mean, m.momentum);
      add(m.stored_var, m.momentum);
    } else if (m instanceof TruncationBatchNorm2d) {
      add(m.running_means, m.momentum);
      add(m.running_vars, m.momentum);
    }
  }
  return out;
}

export class StandingStatistics {
  private constructor(
    private readonly model: GeneratorModel,
    private readonly batch: number,
    private readonly graph: CompiledGraph,
    private readonly inputs: { name: string; param?: Param }[],
    private readonly entries: BnStatEntry[],
  ) {}

  static async create(model: GeneratorModel, batch: number, runtime: RuntimeOptions = {}): Promise<StandingStatistics> {
    const entries = bnStatEntries(model);
    const g = new Graph();
    const z = g.input('z', [batch, model.zDim]);
    const y = g.input('y', [batch], 'int64');
    const ctx: ForwardContext = { ...trainContext(), noGrad: true }; // statistics only, never differentiated
    model.forward(ctx, { z, classes: { ids: y } });
    const outputs: Record<string, Tensor> = {};
    entries.forEach((e, i) => {
      const t = ctx.updates.get(e.param);
      if (!t) throw new Error(`standing statistics: ${e.path} is not updated by a training forward pass`);
      outputs[`stat${i}`] = t;
    });
    const exported = exportOnnx(g, { outputs, paramInputs: 'all', graphName: 'standing_stats' });
    const graph = await CompiledGraph.create(exported, runtime);
    return new StandingStatistics(model, batch, graph, exported.inputs, entries);
  }

  /**
   * Averages the batch statistics over `passes` batches from `draw(pass)`; returns
   * path → standing value (the shape of the running statistic).
   */
  async compute(passes: number, draw: (pass: number) => { z: Float32Array; y: BigInt64Array }): Promise<Map<string, Float32Array>> {
    if (!Number.isInteger(passes) || passes < 1) throw new Error(`standing statistics need at least one pass, got ${passes}`);
    const stat = new Set(this.entries.map((e) => e.param));
    const feeds: Record<string, Feed> = {};
    for (const inp of this.inputs) {
      if (!inp.param) continue;
      feeds[inp.name] = stat.has(inp.param) ? new Float32Array(inp.param.data.length) : inp.param.data;
    }
    const sums = this.entries.map((e) => new Float64Array(e.param.data.length));
    for (let pass = 0; pass < passes; pass++) {
      const { z, y } = draw(pass);
      if (z.length !== this.batch * this.model.zDim || y.length !== this.batch) throw new Error('standing statistics: batch of the wrong size');
      const r = await this.graph.run({ ...feeds, z, y });
      this.entries.forEach((e, i) => {
        const v = r[`stat${i}`] as Float32Array;
        const s = sums[i];
        for (let j = 0; j < s.length; j++) s[j] += v[j] / e.momentum;
      });
    }
    const out = new Map<string, Float32Array>();
    this.entries.forEach((e, i) => out.set(e.path, Float32Array.from(sums[i], (v) => v / passes)));
    return out;
  }

  async release(): Promise<void> {
    await this.graph.release();
  }
}
