/**
 * The BigGAN training iteration (BigGAN-PyTorch train_fns.GAN_training_function with
 * hinge loss, toggle_grads, one device, optional gradient accumulation), run as compiled
 * onnxruntime graphs:
 *
 *   const trainer = new GanTrainer({ G, D, G_ema, hyper, batch });
 *   const r = await trainer.iteration({ xReal, yReal, zs, yFakes });
 *
 * `xReal` holds numDSteps * batch real images (D step k uses rows [kB, (k+1)B), as
 * upstream's loader batch), `zs` / `yFakes` hold numDSteps + 1 latent / label batches
 * (one per D step, then the G step's). With gradient accumulation (hyper
 * numDAccumulations / numGAccumulations = K > 1, per-step graphs only) every D step
 * takes K micro-batches of `batch` (K times the reals, latents and labels, in order)
 * and the G step K latent / label batches; see accumulation-graph.ts. Each call
 * advances `itr`, updates every Param of G, D and G_ema in place (their `.data` arrays
 * are replaced) and the Adam states `gOptim` / `dOptim`, and returns the losses (the
 * last D step's, as upstream reports them, and every step's) and gradient norms.
 *
 * graphs 'single' (default) compiles the whole iteration into one graph; 'per-step'
 * compiles one D-step graph run numDSteps times and one G-step(+EMA) graph: faster
 * to compile, slightly slower per iteration. A step with K > 1 runs the accumulation
 * stages instead (K grad runs, one apply run). Compiled graphs are cached per stage
 * plan. The trainer prefixes parameter names with 'G.', 'D.', 'G_ema.' (names must be
 * unique in one ONNX graph); state-dict paths (namedParams) are unaffected.
 */
import { Param } from '../engine/graph.js';
import { Feed, RuntimeOptions } from '../engine/runtime.js';
import type { DiscriminatorModel, GeneratorModel } from '../models/interfaces.js';
import { Rng } from '../random/rng.js';
import { adamScalarFeeds } from './adam.js';
import { AdamState } from './optimizer-state.js';
import { orthoTargets } from './orthogonal-regularization.js';
import { sigmaRegWeights } from './sigma-regularization.js';
import type { StagePlan } from './iteration-graph.js';
import { dStepInput, TrainNetworks } from './step-parts.js';
import type { StageLayout } from './stage-builder.js';
import { checkHyper, GanHyper } from './gan-hyper.js';
import { CompiledStage, CompiledStages, CompileStats, GraphStructure, graphStructure, runStage, scalar } from './compiled-stages.js';
import { checkLength, StepFeeds } from './step-feeds.js';
import { AccumulationContext, accumulatedDStep, accumulatedGStep } from './accumulated-steps.js';
import type { DStepInputs, DStepOutcome, GStepInputs, GStepOutcome, IterationInputs, IterationResult } from './step-types.js';
import type { Communicator } from '../distributed/communicator.js';
import { ReplicaSync } from './replica-sync.js';

export { PAPER_HYPER, type GanHyper } from './gan-hyper.js';
export type { CompileStats } from './compiled-stages.js';
export type {
  DStepInputs, DStepOutcome, DStepResult, DStepTrace, GStepInputs, GStepOutcome, GStepResult, GStepTrace, IterationInputs, IterationResult,
} from './step-types.js';

export interface GanTrainerOptions {
  G: GeneratorModel;
  D: DiscriminatorModel;
  /** Same architecture as G; averaged after every G step. Absent: no EMA. */
  G_ema?: GeneratorModel;
  hyper: GanHyper;
  /** Images per D step (fakes and reals each) and per G step. */
  batch: number;
  graphs?: 'single' | 'per-step';
  runtime?: RuntimeOptions;
  /**
   * Data-parallel ranks (size > 1): every step runs the accumulation stages, the inputs are
   * this rank's micro-batches (its block of size × the hyper's accumulations) and the step
   * is the one process's over all of them (replica-sync.ts). Needs graphs 'per-step'.
   */
  replicas?: Communicator;
  /**
   * With replicas: G's BatchNorm statistics over every replica's batch (cross-replica BN;
   * the grad stages run as SegmentedGraphs), each rank's batch then being its slice of the
   * one process's; otherwise each rank's micro-batches are whole ones of the one process's.
   */
  crossReplicaBn?: boolean;
}

export class GanTrainer {
  readonly G: GeneratorModel;
  readonly D: DiscriminatorModel;
  readonly G_ema?: GeneratorModel;
  /** Mutable: learning rates, betas, eps, β and EMA settings apply from the next call (numDSteps / orthoVariant / accumulations may recompile). */
  hyper: GanHyper;
  readonly batch: number;
  readonly gOptim: AdamState;
  readonly dOptim: AdamState;
  /** Iterations done (upstream state_dict['itr']); the EMA schedule reads it. */
  itr = 0;
  private readonly mode: 'single' | 'per-step';
  private readonly stages: CompiledStages;
  private readonly feeds: StepFeeds;
  private readonly replicas?: ReplicaSync;
  private readonly crossReplicas?: number;

  constructor(opts: GanTrainerOptions) {
    const { G, D, G_ema } = opts;
    if (G.resolution !== D.resolution) throw new Error(`G makes ${G.resolution}x${G.resolution} images, D takes ${D.resolution}x${D.resolution}`);
    if (G.numClasses !== D.numClasses) throw new Error(`G has ${G.numClasses} classes, D ${D.numClasses}`);
    if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new Error(`batch must be a positive integer, got ${opts.batch}`);
    if (G_ema) {
      if (G_ema === G) throw new Error('G_ema must be a separate copy of G');
      const a = G.namedParams();
      const b = new Map(G_ema.namedParams());
      const bad = a.find(([path, p]) => !b.has(path) || b.get(path)!.data.length !== p.data.length);
      if (bad || a.length !== b.size) throw new Error(`G_ema does not have G's state dict (first difference: ${bad?.[0] ?? 'entry count'})`);
    }
    checkHyper(opts.hyper);
    this.G = G.nameParams('G');
    this.D = D.nameParams('D');
    this.G_ema = G_ema?.nameParams('G_ema');
    this.hyper = { ...opts.hyper };
    this.batch = opts.batch;
    this.mode = opts.graphs ?? 'single';
    this.gOptim = new AdamState(G, 'G_adam');
    this.dOptim = new AdamState(D, 'D_adam');
    const comm = opts.replicas && opts.replicas.size > 1 ? opts.replicas : undefined;
    if (comm && opts.crossReplicaBn) this.crossReplicas = comm.size;
    this.stages = new CompiledStages(opts.runtime ?? {}, () => graphStructure(this.hyper), (s) => this.networks(s), comm ? (buf) => comm.allreduceSum(buf) : undefined);
    this.feeds = new StepFeeds({ G: this.G, D: this.D, batch: this.batch, gOptim: this.gOptim }, () => this.hyper);
    if (comm) {
      if (this.mode === 'single') throw new Error("data-parallel training needs graphs 'per-step'");
      this.replicas = new ReplicaSync(comm, [this.G, this.D], opts.runtime ?? {}, this.crossReplicas ? this.G : undefined);
    }
    this.accumulations();
  }

  /** One training iteration (numDSteps D steps, the G step, EMA). */
  async iteration(inputs: IterationInputs, opts: { trace?: boolean } = {}): Promise<IterationResult> {
    const n = this.hyper.numDSteps;
    const acc = this.accumulations();
    const dMicro = n * acc.d;
    const B = this.batch;
    const img = 3 * this.G.resolution * this.G.resolution;
    checkLength('xReal', inputs.xReal, dMicro * B * img);
    checkLength('yReal', inputs.yReal, dMicro * B);
    if (inputs.zs.length !== dMicro + acc.g || inputs.yFakes.length !== dMicro + acc.g) {
      const layout = acc.d === 1 && acc.g === 1 ? `${n} D steps, then the G step` : `${n} D steps x ${acc.d} micro-batches, then ${acc.g} for the G step`;
      throw new Error(`zs and yFakes need ${dMicro + acc.g} batches each (${layout}), got ${inputs.zs.length} and ${inputs.yFakes.length}`);
    }
    const dIn = (m: number): DStepInputs => ({
      xReal: inputs.xReal.subarray(m * B * img, (m + 1) * B * img),
      yReal: inputs.yReal.subarray(m * B, (m + 1) * B),
      z: inputs.zs[m],
      yFake: inputs.yFakes[m],
      ...(inputs.penaltyNoise ? { penaltyNoise: inputs.penaltyNoise[m] } : {}),
    });
    const gIn = (j: number): GStepInputs => ({ z: inputs.zs[dMicro + j], yFake: inputs.yFakes[dMicro + j] });
    const itr = this.itr + 1; // upstream counts the iteration before running it (the EMA schedule sees it)
    const trace = opts.trace ?? false;
    let dSteps: DStepOutcome[];
    let gStep: GStepOutcome;
    if (this.mode === 'single') {
      ({ dSteps, gStep } = (await this.runStages({ dSteps: n, gStep: true, trace }, [...Array(n).keys()].map(dIn), gIn(0), itr)) as Required<StageRun>);
    } else {
      dSteps = [];
      for (let k = 0; k < n; k++) {
        dSteps.push(
          acc.d === 1 && !this.replicas
            ? (await this.runStages({ dSteps: 1, gStep: false, trace }, [dIn(k)])).dSteps[0]
            : await accumulatedDStep(this.accumulationContext(), Array.from({ length: acc.d }, (_, j) => dIn(k * acc.d + j)), trace),
        );
      }
      gStep =
        acc.g === 1 && !this.replicas
          ? (await this.runStages({ dSteps: 0, gStep: true, trace }, [], gIn(0), itr)).gStep!
          : await accumulatedGStep(this.accumulationContext(), Array.from({ length: acc.g }, (_, j) => gIn(j)), itr, trace);
    }
    this.itr = itr;
    const last = dSteps[dSteps.length - 1]?.result;
    return {
      itr,
      dLossReal: last?.lossReal ?? NaN,
      dLossFake: last?.lossFake ?? NaN,
      gLoss: gStep.result.loss,
      dSteps: dSteps.map((s) => s.result),
      gStep: gStep.result,
      ...(trace ? { trace: { dSteps: dSteps.map((s) => s.trace!), gStep: gStep.trace! } } : {}),
    };
  }

  /**
   * One D step alone (stage restarts in tests; does not advance itr). An array of K > 1
   * micro-batches makes it one accumulated step: K forward/backward passes of D_loss / K,
   * one Adam step on the summed gradient (whatever the graphs mode).
   */
  async discriminatorStep(inputs: DStepInputs | DStepInputs[], opts: { trace?: boolean } = {}): Promise<DStepOutcome> {
    const micro = Array.isArray(inputs) ? inputs : [inputs];
    const trace = opts.trace ?? false;
    if (micro.length === 0) throw new Error('discriminatorStep: no micro-batches');
    if (micro.length > 1) return accumulatedDStep(this.accumulationContext(), micro, trace);
    return (await this.runStages({ dSteps: 1, gStep: false, trace }, micro)).dSteps[0];
  }

  /**
   * The G step and EMA alone, EMA decay from the current itr (stage restarts; does not
   * advance itr). An array of K > 1 micro-batches makes it one accumulated step.
   */
  async generatorStep(inputs: GStepInputs | GStepInputs[], opts: { trace?: boolean } = {}): Promise<GStepOutcome> {
    const micro = Array.isArray(inputs) ? inputs : [inputs];
    const trace = opts.trace ?? false;
    if (micro.length === 0) throw new Error('generatorStep: no micro-batches');
    if (micro.length > 1) return accumulatedGStep(this.accumulationContext(), micro, this.itr, trace);
    return (await this.runStages({ dSteps: 0, gStep: true, trace }, [], micro[0])).gStep!;
  }

  /** Latents z ~ N(0, zStd²) (upstream z_var is used as the standard deviation) and uniform fake labels for one iteration. */
  sampleNoise(rng: Rng, zStd = 1): Pick<IterationInputs, 'zs' | 'yFakes'> {
    const acc = this.accumulations();
    const n = this.hyper.numDSteps * acc.d + acc.g;
    const zs = Array.from({ length: n }, () => rng.fillNormal(new Float32Array(this.batch * this.G.zDim), zStd));
    const yFakes = Array.from({ length: n }, () => BigInt64Array.from({ length: this.batch }, () => BigInt(rng.int(this.G.numClasses))));
    return { zs, yFakes };
  }

  /** Graph sizes and build / session-creation times of the stages compiled so far. */
  compileStats(): CompileStats[] {
    return this.stages.compileStats();
  }

  /** Compiles the graphs `iteration` will need now (otherwise the first call does). */
  async prepare(trace = false): Promise<void> {
    const n = this.hyper.numDSteps;
    const acc = this.accumulations();
    if (this.mode === 'single') {
      await this.stages.iteration({ dSteps: n, gStep: true, trace });
      return;
    }
    await Promise.all<CompiledStage<StageLayout>>([
      ...(acc.d === 1 && !this.replicas ? [this.stages.iteration({ dSteps: 1, gStep: false, trace })] : [this.stages.dGrad(trace), this.stages.dApply()]),
      ...(acc.g === 1 && !this.replicas ? [this.stages.iteration({ dSteps: 0, gStep: true, trace })] : [this.stages.gGrad(trace), this.stages.gApply(trace)]),
    ]);
  }

  async release(): Promise<void> {
    await this.stages.release();
    await this.replicas?.release();
  }

  /**
   * σ1 estimates of G's weights for `sigmaReg: { ratio }` (e.g. from the run's periodic
   * singular-value measurement); a weight without one is measured at its next G step.
   */
  setSigma1(values: Map<Param, number>): void {
    this.feeds.setSigma1(values);
  }

  /** The accumulation counts of the current hyper (checked against the graphs mode). */
  private accumulations(): { d: number; g: number } {
    const d = this.hyper.numDAccumulations ?? 1;
    const g = this.hyper.numGAccumulations ?? 1;
    if (this.mode === 'single' && (d > 1 || g > 1)) {
      throw new Error(`gradient accumulation (numDAccumulations ${d}, numGAccumulations ${g}) needs graphs 'per-step'`);
    }
    return { d, g };
  }

  /** The noise shape of the active penalty for one D batch, if it takes noise. */
  penaltyNoiseShape(): number[] | null {
    return this.feeds.penaltyNoiseShape();
  }

  /** The network bundle the current settings' stages are built from (the bench counts their FLOPs). */
  trainNetworks(): TrainNetworks {
    return this.networks(graphStructure(this.hyper));
  }

  private networks(s: GraphStructure): TrainNetworks {
    return {
      G: this.G,
      D: this.D,
      G_ema: this.G_ema,
      gAdam: this.gOptim,
      dAdam: this.dOptim,
      orthoVariant: s.ortho,
      orthoTargets: orthoTargets(this.G),
      batch: this.batch,
      r1: s.r1,
      loss: s.loss,
      penalty: s.penalty,
      sigmaReg: s.sigmaReg ? sigmaRegWeights(this.G) : undefined,
      ...(this.crossReplicas ? { crossReplicas: this.crossReplicas } : {}),
    };
  }

  private accumulationContext(): AccumulationContext {
    return { hyper: this.hyper, stages: this.stages, feeds: this.feeds, G: this.G, D: this.D, gOptim: this.gOptim, dOptim: this.dOptim, replicas: this.replicas };
  }

  private async runStages(plan: StagePlan, dInputs: DStepInputs[], gInputs?: GStepInputs, itr = this.itr): Promise<StageRun> {
    checkHyper(this.hyper);
    const stage = await this.stages.iteration(plan);
    const { layout } = stage;
    const feeds: Record<string, Feed> = {};
    dInputs.forEach((d, k) => {
      Object.assign(feeds, this.feeds.dStep(k, d, `D step ${k}`), adamScalarFeeds(dStepInput(k, 'adam'), this.feeds.dAdamHyper(), this.dOptim.step + k + 1));
    });
    if (plan.gStep) Object.assign(feeds, this.feeds.gStep(gInputs!, 'G step'), this.feeds.gUpdate(itr));
    const r = await runStage(stage, feeds);

    const f32 = (name: string): Float32Array => r[name] as Float32Array;
    const byParam = (m: Map<Param, string>): Map<Param, Float32Array> => new Map([...m].map(([p, name]) => [p, f32(name)]));
    this.dOptim.step += dInputs.length;
    if (plan.gStep) this.gOptim.step += 1;

    const run: StageRun = {
      dSteps: layout.dSteps.map((o) => ({
        result: {
          lossReal: scalar(r, o.lossReal), lossFake: scalar(r, o.lossFake), gradNorm: scalar(r, o.gradNorm),
          ...(o.r1 ? { r1: scalar(r, o.r1) } : {}), ...(o.penalty ? { penalty: scalar(r, o.penalty) } : {}),
        },
        ...(o.trace
          ? { trace: { gZ: f32(o.trace.gZ), dFake: f32(o.trace.dFake), dReal: f32(o.trace.dReal), grads: byParam(o.trace.grads), after: byParam(o.trace.after) } }
          : {}),
      })),
    };
    const go = layout.gStep;
    if (go) {
      run.gStep = {
        result: {
          loss: scalar(r, go.loss),
          gradNorm: scalar(r, go.gradNorm),
          gradNormWithOrtho: scalar(r, go.gradNormTotal),
          ...(go.sigmaReg ? { sigmaReg: scalar(r, go.sigmaReg) } : {}),
        },
        ...(go.trace
          ? {
              trace: {
                gZ: f32(go.trace.gZ),
                dFake: f32(go.trace.dFake),
                lossGrads: byParam(go.trace.lossGrads),
                ortho: byParam(go.trace.ortho),
                grads: byParam(go.trace.grads),
              },
            }
          : {}),
      };
    }
    return run;
  }
}

interface StageRun {
  dSteps: DStepOutcome[];
  gStep?: GStepOutcome;
}
