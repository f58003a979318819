/**
 * The trainer's compiled graphs: what makes one graph's structure differ from another's
 * (GraphStructure, from the hyper-parameters), the cache of compiled stages keyed by
 * stage name and structure, and running a compiled stage against the Params it updates.
 */
import { CompiledGraph, Feed, Fetched, RuntimeOptions } from '../engine/runtime.js';
import { SegmentedGraph, type CrossReplicaReduce } from '../engine/segmented-graph.js';
import type { LossName } from './losses.js';
import type { PenaltyName } from './penalties/penalties.js';
import type { OrthoVariant } from './orthogonal-regularization.js';
import { GanHyper, orthoActive, r1Active, sigmaRegActive } from './gan-hyper.js';
import { buildIterationGraph, IterationGraph, StagePlan } from './iteration-graph.js';
import type { TrainNetworks } from './step-parts.js';
import type { StageLayout } from './stage-builder.js';
import type { Tensor } from '../engine/graph.js';
import { buildDApplyStage, buildDGradStage, buildGApplyStage, buildGGradStage } from './accumulation-graph.js';

/** What makes one compiled training graph differ from another besides batch and stage. */
export interface GraphStructure {
  ortho: OrthoVariant;
  r1: boolean;
  sigmaReg: boolean;
  loss: LossName;
  penalty: PenaltyName;
}

/**
 * Everything about the settings that changes a graph's structure (not its scalar inputs):
 * the networks are built from it and compiled stages are cached under it, so the two cannot disagree.
 */
export function graphStructure(h: GanHyper): GraphStructure {
  return {
    ortho: orthoActive(h) ? h.orthoVariant : 'none',
    r1: r1Active(h),
    sigmaReg: sigmaRegActive(h),
    loss: h.loss ?? 'hinge',
    penalty: h.penalty ?? 'none',
  };
}

/** What runs a stage: one onnxruntime session, or a chain of them cut at cross-replica sums. */
export interface StageGraph {
  run(feeds: Record<string, Feed>): Promise<Record<string, Fetched>>;
  release(): Promise<void>;
}

export interface CompiledStage<L extends StageLayout> {
  graph: StageGraph;
  layout: L;
  buildSeconds: number;
  sessionSeconds: number;
}

export interface CompileStats {
  stage: string;
  nodes: number;
  bytes: number;
  buildSeconds: number;
  sessionSeconds: number;
}

/** The stages of the current settings, compiled on first use and then cached. */
export class CompiledStages {
  private readonly stages = new Map<string, Promise<CompiledStage<StageLayout>>>();
  private readonly stats: CompileStats[] = [];

  constructor(
    private readonly runtime: RuntimeOptions,
    /** The current settings' structure (read at every request: the hyper-parameters may change). */
    private readonly structure: () => GraphStructure,
    /** The network bundle a stage is built from. */
    private readonly networks: (s: GraphStructure) => TrainNetworks,
    /** Sums across data-parallel replicas, for stages with cross-replica BatchNorm. */
    private readonly reduce?: CrossReplicaReduce,
  ) {}

  iteration(plan: StagePlan): Promise<CompiledStage<IterationGraph>> {
    return this.stage(`${plan.dSteps}/${plan.gStep}/${plan.trace}`, (nets) => buildIterationGraph(nets, plan));
  }

  dGrad(trace: boolean) {
    return this.stage(`acc:d-grad/${trace}`, (nets) => buildDGradStage(nets, trace));
  }

  dApply() {
    return this.stage('acc:d-apply', buildDApplyStage);
  }

  gGrad(trace: boolean) {
    return this.stage(`acc:g-grad/${trace}`, (nets) => buildGGradStage(nets, trace));
  }

  gApply(trace: boolean) {
    return this.stage(`acc:g-apply/${trace}`, (nets) => buildGApplyStage(nets, trace));
  }

  /** Graph sizes and build / session-creation times of the stages compiled so far. */
  compileStats(): CompileStats[] {
    return this.stats.map((s) => ({ ...s }));
  }

  async release(): Promise<void> {
    const stages = [...this.stages.values()];
    this.stages.clear();
    for (const s of stages) await (await s).graph.release();
  }

  /** The compiled stage `name` for the current settings (compiled on first use, then cached). */
  private stage<L extends StageLayout>(name: string, build: (nets: TrainNetworks) => L): Promise<CompiledStage<L>> {
    const structure = this.structure();
    const key = `${name}/${JSON.stringify(structure)}`;
    let s = this.stages.get(key) as Promise<CompiledStage<L>> | undefined;
    if (!s) {
      s = this.compile(key, () => build(this.networks(structure)));
      this.stages.set(key, s);
      s.catch(() => this.stages.delete(key));
    }
    return s;
  }

  private async compile<L extends StageLayout>(key: string, build: () => L): Promise<CompiledStage<L>> {
    const t0 = performance.now();
    const layout = build();
    const t1 = performance.now();
    const graph = layout.crossReplica ? await this.segmented(layout.crossReplica) : await CompiledGraph.create(layout.model, this.runtime);
    const t2 = performance.now();
    const stage = { graph, layout, buildSeconds: (t1 - t0) / 1000, sessionSeconds: (t2 - t1) / 1000 };
    this.stats.push({ stage: key, nodes: layout.nodes, bytes: layout.model.bytes.length, buildSeconds: stage.buildSeconds, sessionSeconds: stage.sessionSeconds });
    return stage;
  }

  /** A graph with cross-replica sums as a chain of sessions, the sums reduced across replicas between them. */
  private async segmented(outputs: Record<string, Tensor>): Promise<StageGraph> {
    const reduce = this.reduce;
    if (!reduce) throw new Error('a training stage with cross-replica BatchNorm needs the replicas to sum over');
    const graph = await SegmentedGraph.create(outputs, this.runtime);
    return { run: (feeds) => graph.run(feeds, reduce), release: () => graph.release() };
  }
}

/** Runs a compiled stage: state entries fed from their Params, the rest from `feeds`; swaps in the new state values. */
export async function runStage(stage: CompiledStage<StageLayout>, feeds: Record<string, Feed>): Promise<Record<string, Fetched>> {
  const all: Record<string, Feed> = { ...feeds };
  for (const inp of stage.layout.model.inputs) if (inp.param) all[inp.name] = inp.param.data;
  const r = await stage.graph.run(all);
  for (const [p, name] of stage.layout.state) p.data = r[name] as Float32Array;
  return r;
}

/** A fetched one-element output as a number. */
export const scalar = (r: Record<string, Fetched>, name: string): number => Number((r[name] as Float32Array)[0]);
