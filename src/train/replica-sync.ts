/**
 * What makes N data-parallel ranks, each running K micro-batches of an accumulated step,
 * do what one process running the N·K micro-batches does (docs/ARCHITECTURE.md,
 * data-parallel training):
 *   - SN vectors: rank r's first micro-batch starts from u after r·K power iterations (W is
 *     fixed within a step), so the rank advances them r·K times before its micro-batches and
 *     (N−1−r)·K times after (nn/spectral-advance.ts: the training graphs' own update);
 *   - BN running statistics: each micro-batch runs from zeros, so the grad stage returns
 *     exactly its term m·s; the terms are gathered in rank order and replayed from the
 *     step's start value (nn/running-average-replay.ts), as one process chains them;
 *   - gradients: summed locally, then one Allreduce SUM over a flat buffer;
 *   - losses: every micro-batch's, gathered in micro-batch order (the log's means then add
 *     up in one process's order).
 * With cross-replica BatchNorm in G (each rank a slice of every micro-batch, the statistics
 * summed across ranks inside the graphs) every rank already runs the same chain of SN and
 * BN updates: only the gradients and losses travel.
 * The apply stage then runs on identical inputs on every rank.
 */
import type { Param, Tensor } from '../engine/graph.js';
import { exportOnnx } from '../engine/onnx-export.js';
import { CompiledGraph, type Feed, type RuntimeOptions } from '../engine/runtime.js';
import type { Module } from '../nn/module.js';
import { spectralAdvance } from '../nn/spectral-advance.js';
import { replayRunningAverage } from '../nn/running-average-replay.js';
import type { Communicator } from '../distributed/communicator.js';
import { allgather } from '../distributed/allgather.js';
import { UserError } from '../errors.js';

interface Advance {
  graph: CompiledGraph;
  params: Param[];
}

/** One accumulated step's bookkeeping on this rank (begin → afterMicroBatch × K → end). */
export interface ReplicaStep {
  afterMicroBatch(): void;
  /** sums `grads` over ranks (in place), finishes the buffers; returns every micro-batch's loss values in micro-batch order */
  end(grads: Map<Param, Float32Array>, losses: number[][]): Promise<number[][]>;
}

export class ReplicaSync {
  private advances: Promise<Advance[]> | null = null;
  private readonly momentum = new Map<Param, number>();

  constructor(
    readonly comm: Communicator,
    private readonly models: Module[],
    private readonly runtime: RuntimeOptions,
    /**
     * The model whose BatchNorm statistics are cross-replica (the same batch statistics on
     * every rank): then every rank runs the same chain of SN and BN updates, and only the
     * gradients and losses travel.
     */
    private readonly crossReplicaModel?: Module,
  ) {
    for (const model of models) {
      for (const [, m] of model.namedModules()) {
        const bn = m as unknown as { stored_mean?: Param; stored_var?: Param; momentum?: number };
        if (bn.stored_mean && bn.stored_var && typeof bn.momentum === 'number') {
          this.momentum.set(bn.stored_mean, bn.momentum);
          this.momentum.set(bn.stored_var, bn.momentum);
        }
      }
    }
    if (crossReplicaModel) {
      const shared = new Set(crossReplicaModel.namedParams().map(([, p]) => p));
      const outside = [...this.momentum.keys()].find((p) => !shared.has(p));
      if (outside) throw new UserError(`--cross-replica-bn sums G's BatchNorm statistics, but D has BatchNorm too (${outside.name}), whose statistics would differ between ranks: leave out --cross-replica-bn`);
    }
  }

  get size(): number {
    return this.comm.size;
  }

  /**
   * Starts a step of K local micro-batches whose grad stage writes the buffers `state`:
   * SN vectors advanced to this rank's first micro-batch, BN statistics set to zeros.
   */
  async begin(state: Iterable<Param>, K: number): Promise<ReplicaStep> {
    if (this.crossReplicaModel) return this.beginCrossReplica();
    const advances = await this.compiledAdvances();
    const written = new Set(state);
    const sn = new Set(advances.flatMap((a) => a.params));
    const bn = [...written].filter((p) => !sn.has(p));
    for (const p of bn) {
      if (!this.momentum.has(p)) throw new Error(`data-parallel training: the step writes ${p.name}, neither an SN vector nor a BatchNorm statistic`);
    }
    const used = advances.filter((a) => a.params.some((p) => written.has(p)));
    for (const a of used) {
      const missed = a.params.find((p) => !written.has(p));
      if (missed) throw new Error(`data-parallel training: the step advances some SN vectors of a model but not ${missed.name}`);
    }
    const { rank, size } = this.comm;
    await this.advance(used, rank * K);
    const start = new Map(bn.map((p) => [p, p.data]));
    const zero = (): void => bn.forEach((p) => (p.data = new Float32Array(p.data.length)));
    zero();
    const terms: Float32Array[] = [];
    return {
      afterMicroBatch: () => {
        for (const p of bn) terms.push(p.data);
        zero();
      },
      end: async (grads, losses) => {
        await this.advance(used, (size - 1 - rank) * K);
        const gathered = await this.replayStatistics(bn, start, terms, K);
        await this.sumGradients(grads);
        await gathered;
        return this.gatherLosses(losses);
      },
    };
  }

  /** Every rank runs the same chain of buffer updates (BN statistics over all ranks, SN from the same W and u). */
  private beginCrossReplica(): ReplicaStep {
    return {
      afterMicroBatch: () => {},
      end: async (grads, losses) => {
        await this.sumGradients(grads);
        return this.gatherLosses(losses);
      },
    };
  }

  private async replayStatistics(bn: Param[], start: Map<Param, Float32Array>, terms: Float32Array[], K: number): Promise<void> {
    const local = new Float32Array(terms.reduce((n, t) => n + t.length, 0));
    let at = 0;
    for (const t of terms) {
      local.set(t, at);
      at += t.length;
    }
    const all = await allgather(this.comm, local);
    // rank r's block holds its K micro-batches, each the bn params' terms in order
    const per = new Map<Param, Float32Array[]>(bn.map((p) => [p, []]));
    at = 0;
    for (let j = 0; j < this.comm.size * K; j++) {
      for (const p of bn) {
        per.get(p)!.push(all.subarray(at, at + p.data.length));
        at += p.data.length;
      }
    }
    for (const p of bn) p.data = replayRunningAverage(start.get(p)!, per.get(p)!, this.momentum.get(p)!);
  }

  private async sumGradients(grads: Map<Param, Float32Array>): Promise<void> {
    // Map order is the grad stage's layout order: the same on every rank
    const flat = new Float32Array([...grads.values()].reduce((n, g) => n + g.length, 0));
    let at = 0;
    for (const g of grads.values()) {
      flat.set(g, at);
      at += g.length;
    }
    await this.comm.allreduceSum(flat);
    at = 0;
    for (const g of grads.values()) {
      g.set(flat.subarray(at, at + g.length));
      at += g.length;
    }
  }

  private async gatherLosses(losses: number[][]): Promise<number[][]> {
    const width = losses[0]?.length ?? 0;
    const all = await allgather(this.comm, Float64Array.from(losses.flat()));
    return Array.from({ length: all.length / Math.max(width, 1) }, (_, j) => Array.from(all.subarray(j * width, (j + 1) * width)));
  }

  private async advance(advances: Advance[], times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      for (const a of advances) {
        const feeds: Record<string, Feed> = {};
        for (const inp of a.graph.model.inputs) if (inp.param) feeds[inp.name] = inp.param.data;
        const r = await a.graph.run(feeds);
        for (const p of a.params) p.data = r[`next:${p.name}`] as Float32Array;
      }
    }
  }

  private compiledAdvances(): Promise<Advance[]> {
    this.advances ??= Promise.all(
      this.models.map(async (model): Promise<Advance | null> => {
        const { graph, updates } = spectralAdvance(model);
        if (updates.size === 0) return null;
        const outputs: Record<string, Tensor> = Object.fromEntries([...updates].map(([p, t]) => [`next:${p.name}`, t]));
        const params = [...updates.keys()];
        return { graph: await CompiledGraph.create(exportOnnx(graph, { outputs, paramInputs: 'all' }), this.runtime), params };
      }),
    ).then((all) => all.filter((a): a is Advance => a !== null));
    return this.advances;
  }

  async release(): Promise<void> {
    if (!this.advances) return;
    for (const a of await this.advances) await a.graph.release();
    this.advances = null;
  }
}
