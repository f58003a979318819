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
import { LOSSES, type LossName } from './losses.js';
import { PENALTIES, type PenaltyName } from './penalties/penalties.js';
import { Param } from '../engine/graph.js';
import { CompiledGraph, Feed, Fetched, RuntimeOptions } from '../engine/runtime.js';
import type { DiscriminatorModel, GeneratorModel } from '../models/interfaces.js';
import { Rng } from '../random/rng.js';
import { AdamHyper, adamScalarFeeds } from './adam.js';
import { AdamState } from './optimizer-state.js';
import { OrthoVariant, ORTHO_VARIANTS, orthoScale, orthoTargets } from './orthogonal-regularization.js';
import { EmaHyper, emaScalarFeeds } from './ema.js';
import { checkSigmaReg, secondSingularValue, SigmaRegTarget, sigmaRegTargets, sigmaRegWeights } from './sigma-regularization.js';
import { buildIterationGraph, IterationGraph, StagePlan } from './iteration-graph.js';
import { dStepInput, gStepInput, TrainNetworks } from './step-parts.js';
import type { StageLayout } from './stage-builder.js';
import { ACC_DIVISOR, buildDApplyStage, buildDGradStage, buildGApplyStage, buildGGradStage } from './accumulation-graph.js';

export interface GanHyper {
  gLr: number;
  dLr: number;
  /** Adam (beta1, beta2) of both networks, unless gBetas / dBetas say otherwise. */
  betas: [number, number];
  gBetas?: [number, number];
  dBetas?: [number, number];
  adamEps: number;
  numDSteps: number;
  /** β of the orthogonal regularisation of G (0: off). */
  orthoBeta: number;
  orthoVariant: OrthoVariant;
  emaDecay: number;
  /** Iteration (1-based) from which G_ema averages; before it G_ema copies G. */
  emaStart: number;
  /** γ of the R1 zero-centred gradient penalty on D: D_loss += γ/2 · mean ||∂D(x)/∂x||² over reals (0 / absent: off). */
  r1Gamma?: number;
  /** The GAN loss (absent: hinge). */
  loss?: LossName;
  /** The study's penalty on D (absent or 'none': off), D_loss += penaltyWeight · penalty. */
  penalty?: PenaltyName;
  penaltyWeight?: number;
  /** σ0 regularisation of G's SN weights towards a fixed target or r · σ1 (absent: off); see sigma-regularization.ts. */
  sigmaReg?: SigmaRegTarget;
  /** β_σ of the σ0 regulariser (absent or 0: off). */
  sigmaRegStrength?: number;
  /**
   * Micro-batches whose gradients each D step / the G step sums before its one Adam step
   * (upstream num_D_accumulations / num_G_accumulations; absent: 1). Each micro-batch's loss
   * is divided by K; each forward uses its own micro-batch's BN statistics. K > 1 needs
   * graphs 'per-step'.
   */
  numDAccumulations?: number;
  numGAccumulations?: number;
}

/** The paper's ImageNet 128x128 settings (BigGAN-PyTorch launch_BigGAN_bs256x8.sh for eps and ema_start). */
export const PAPER_HYPER: Readonly<GanHyper> = {
  gLr: 5e-5,
  dLr: 2e-4,
  betas: [0, 0.999],
  adamEps: 1e-6,
  numDSteps: 2,
  orthoBeta: 1e-4,
  orthoVariant: 'biggan',
  emaDecay: 0.9999,
  emaStart: 20000,
};

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
}

/**
 * With Kd = numDAccumulations, Kg = numGAccumulations (1 without accumulation): micro-batch
 * j of D step k is number k·Kd + j, in the reals and in zs / yFakes; the G step's follow.
 */
export interface IterationInputs {
  /** [numDSteps * Kd * batch, 3, R, R] in [-1, 1]. */
  xReal: Float32Array;
  /** [numDSteps * Kd * batch] class ids. */
  yReal: BigInt64Array;
  /** numDSteps * Kd + Kg latent batches [batch, zDim]: the D steps' micro-batches, then the G step's. */
  zs: Float32Array[];
  /** As many fake-label batches [batch], paired with zs. */
  yFakes: BigInt64Array[];
  /** Penalties that take noise (wgan-gp, dragan): U[0, 1) of the penalty's noise shape, one per D micro-batch. */
  penaltyNoise?: Float32Array[];
}

/** What makes one compiled training graph differ from another besides batch and stage. */
interface GraphStructure {
  ortho: OrthoVariant;
  r1: boolean;
  sigmaReg: boolean;
  loss: LossName;
  penalty: PenaltyName;
}

export interface DStepInputs {
  penaltyNoise?: Float32Array;
  xReal: Float32Array;
  yReal: BigInt64Array;
  z: Float32Array;
  yFake: BigInt64Array;
}

export interface GStepInputs {
  z: Float32Array;
  yFake: BigInt64Array;
}

/** With accumulation, losses (and r1) are the mean over the micro-batches of their unscaled values. */
export interface DStepResult {
  lossReal: number;
  lossFake: number;
  /** Global L2 norm of D's gradient (of the loss Adam consumes, R1 term included; with accumulation, of the sum). */
  gradNorm: number;
  /** mean ||∂D(x_real)/∂x_real||² of this step (before γ/2), when r1Gamma > 0. */
  r1?: number;
  /** The penalty of this step (before its weight), when one is on. */
  penalty?: number;
}

/** With accumulation: gZ / dFake / dReal of the micro-batches concatenated in order, grads the summed gradient Adam used. */
export interface DStepTrace {
  gZ: Float32Array;
  dFake: Float32Array;
  dReal: Float32Array;
  /** Gradient of D_loss_real + D_loss_fake per trainable D parameter. */
  grads: Map<Param, Float32Array>;
  /** Every G and D entry this step changed, after it (D weights, SN vectors, BN statistics). */
  after: Map<Param, Float32Array>;
}

/** With accumulation, loss (and sigmaReg) are means over the micro-batches, the norms those of the summed gradient. */
export interface GStepResult {
  loss: number;
  /** Global L2 norm of dG_loss/dθ. */
  gradNorm: number;
  /** ... and of the gradient Adam consumes (with the ortho term). */
  gradNormWithOrtho: number;
  /** Σ (σ0 − target)² over G's SN weights (before β_σ), when the σ0 regulariser is on. */
  sigmaReg?: number;
}

/** With accumulation: gZ / dFake concatenated over the micro-batches, lossGrads their sum. */
export interface GStepTrace {
  gZ: Float32Array;
  dFake: Float32Array;
  lossGrads: Map<Param, Float32Array>;
  /** The ortho term of each regularised parameter. */
  ortho: Map<Param, Float32Array>;
  grads: Map<Param, Float32Array>;
}

export interface IterationResult {
  /** Iterations done, this one included (upstream state_dict['itr']). */
  itr: number;
  /** The last D step's losses (what upstream returns) and G's. */
  dLossReal: number;
  dLossFake: number;
  gLoss: number;
  dSteps: DStepResult[];
  gStep: GStepResult;
  trace?: { dSteps: DStepTrace[]; gStep: GStepTrace };
}

interface CompiledStage<L extends StageLayout> {
  graph: CompiledGraph;
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

const scalar = (r: Record<string, Fetched>, name: string): number => Number((r[name] as Float32Array)[0]);

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
  private readonly runtime: RuntimeOptions;
  private readonly stages = new Map<string, Promise<CompiledStage<StageLayout>>>();
  private readonly stats: CompileStats[] = [];
  /** σ1 per regularised G weight for the ratio form of the σ0 regulariser (see setSigma1). */
  private readonly sigma1 = new Map<Param, number>();

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
    this.runtime = opts.runtime ?? {};
    this.gOptim = new AdamState(G, 'G_adam');
    this.dOptim = new AdamState(D, 'D_adam');
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
    let dSteps: { result: DStepResult; trace?: DStepTrace }[];
    let gStep: { result: GStepResult; trace?: GStepTrace };
    if (this.mode === 'single') {
      ({ dSteps, gStep } = (await this.runStages({ dSteps: n, gStep: true, trace }, [...Array(n).keys()].map(dIn), gIn(0), itr)) as Required<StageRun>);
    } else {
      dSteps = [];
      for (let k = 0; k < n; k++) {
        dSteps.push(
          acc.d === 1
            ? (await this.runStages({ dSteps: 1, gStep: false, trace }, [dIn(k)])).dSteps[0]
            : await this.accumulatedDStep(Array.from({ length: acc.d }, (_, j) => dIn(k * acc.d + j)), trace),
        );
      }
      gStep =
        acc.g === 1
          ? (await this.runStages({ dSteps: 0, gStep: true, trace }, [], gIn(0), itr)).gStep!
          : await this.accumulatedGStep(Array.from({ length: acc.g }, (_, j) => gIn(j)), itr, trace);
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
  async discriminatorStep(inputs: DStepInputs | DStepInputs[], opts: { trace?: boolean } = {}): Promise<{ result: DStepResult; trace?: DStepTrace }> {
    const micro = Array.isArray(inputs) ? inputs : [inputs];
    const trace = opts.trace ?? false;
    if (micro.length === 0) throw new Error('discriminatorStep: no micro-batches');
    if (micro.length > 1) return this.accumulatedDStep(micro, trace);
    return (await this.runStages({ dSteps: 1, gStep: false, trace }, micro)).dSteps[0];
  }

  /**
   * The G step and EMA alone, EMA decay from the current itr (stage restarts; does not
   * advance itr). An array of K > 1 micro-batches makes it one accumulated step.
   */
  async generatorStep(inputs: GStepInputs | GStepInputs[], opts: { trace?: boolean } = {}): Promise<{ result: GStepResult; trace?: GStepTrace }> {
    const micro = Array.isArray(inputs) ? inputs : [inputs];
    const trace = opts.trace ?? false;
    if (micro.length === 0) throw new Error('generatorStep: no micro-batches');
    if (micro.length > 1) return this.accumulatedGStep(micro, this.itr, trace);
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
    return this.stats.map((s) => ({ ...s }));
  }

  /** Compiles the graphs `iteration` will need now (otherwise the first call does). */
  async prepare(trace = false): Promise<void> {
    const n = this.hyper.numDSteps;
    const acc = this.accumulations();
    if (this.mode === 'single') {
      await this.iterationStage({ dSteps: n, gStep: true, trace });
      return;
    }
    await Promise.all<CompiledStage<StageLayout>>([
      ...(acc.d === 1 ? [this.iterationStage({ dSteps: 1, gStep: false, trace })] : [this.dGradStage(trace), this.dApplyStage()]),
      ...(acc.g === 1 ? [this.iterationStage({ dSteps: 0, gStep: true, trace })] : [this.gGradStage(trace), this.gApplyStage(trace)]),
    ]);
  }

  async release(): Promise<void> {
    const stages = [...this.stages.values()];
    this.stages.clear();
    for (const s of stages) await (await s).graph.release();
  }

  /**
   * σ1 estimates of G's weights for `sigmaReg: { ratio }` (e.g. from the run's periodic
   * singular-value measurement); a weight without one is measured at its next G step.
   */
  setSigma1(values: Map<Param, number>): void {
    for (const [p, v] of values) this.sigma1.set(p, v);
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

  private r1Active(): boolean {
    return (this.hyper.r1Gamma ?? 0) > 0;
  }

  private penaltyActive(): boolean {
    return (this.hyper.penalty ?? 'none') !== 'none';
  }

  /** The noise shape of the active penalty for one D batch, if it takes noise. */
  penaltyNoiseShape(): number[] | null {
    if (!this.penaltyActive()) return null;
    const R = this.G.resolution;
    return PENALTIES[this.hyper.penalty!].noiseShape([this.batch, 3, R, R]);
  }

  private sigmaRegActive(): boolean {
    return this.hyper.sigmaReg !== undefined && (this.hyper.sigmaRegStrength ?? 0) > 0;
  }

  private orthoActive(): boolean {
    return this.hyper.orthoVariant !== 'none' && this.hyper.orthoBeta !== 0;
  }

  /** The compiled stage `name` for the current settings (compiled on first use, then cached). */
  /**
   * Everything about the current settings that changes a graph's structure (not its scalar inputs):
   * the networks are built from it and compiled stages are cached under it, so the two cannot disagree.
   */
  private graphStructure(): GraphStructure {
    return {
      ortho: this.orthoActive() ? this.hyper.orthoVariant : 'none',
      r1: this.r1Active(),
      sigmaReg: this.sigmaRegActive(),
      loss: this.hyper.loss ?? 'hinge',
      penalty: this.hyper.penalty ?? 'none',
    };
  }

  private stage<L extends StageLayout>(name: string, build: (nets: TrainNetworks) => L): Promise<CompiledStage<L>> {
    const structure = this.graphStructure();
    const key = `${name}/${JSON.stringify(structure)}`;
    let s = this.stages.get(key) as Promise<CompiledStage<L>> | undefined;
    if (!s) {
      s = this.compile(key, () => build(this.networks(structure)));
      this.stages.set(key, s);
      s.catch(() => this.stages.delete(key));
    }
    return s;
  }

  private iterationStage(plan: StagePlan): Promise<CompiledStage<IterationGraph>> {
    return this.stage(`${plan.dSteps}/${plan.gStep}/${plan.trace}`, (nets) => buildIterationGraph(nets, plan));
  }

  private dGradStage(trace: boolean) {
    return this.stage(`acc:d-grad/${trace}`, (nets) => buildDGradStage(nets, trace));
  }

  private dApplyStage() {
    return this.stage('acc:d-apply', buildDApplyStage);
  }

  private gGradStage(trace: boolean) {
    return this.stage(`acc:g-grad/${trace}`, (nets) => buildGGradStage(nets, trace));
  }

  private gApplyStage(trace: boolean) {
    return this.stage(`acc:g-apply/${trace}`, (nets) => buildGApplyStage(nets, trace));
  }

  /** The network bundle the current settings' stages are built from (the bench counts their FLOPs). */
  trainNetworks(): TrainNetworks {
    return this.networks(this.graphStructure());
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
    };
  }

  private async compile<L extends StageLayout>(key: string, build: () => L): Promise<CompiledStage<L>> {
    const t0 = performance.now();
    const layout = build();
    const t1 = performance.now();
    const graph = await CompiledGraph.create(layout.model, this.runtime);
    const t2 = performance.now();
    const stage = { graph, layout, buildSeconds: (t1 - t0) / 1000, sessionSeconds: (t2 - t1) / 1000 };
    this.stats.push({ stage: key, nodes: layout.nodes, bytes: layout.model.bytes.length, buildSeconds: stage.buildSeconds, sessionSeconds: stage.sessionSeconds });
    return stage;
  }

  /** Runs a compiled stage: state entries fed from their Params, the rest from `feeds`; swaps in the new state values. */
  private async runStage(stage: CompiledStage<StageLayout>, feeds: Record<string, Feed>): Promise<Record<string, Fetched>> {
    const all: Record<string, Feed> = { ...feeds };
    for (const inp of stage.layout.model.inputs) if (inp.param) all[inp.name] = inp.param.data;
    const r = await stage.graph.run(all);
    for (const [p, name] of stage.layout.state) p.data = r[name] as Float32Array;
    return r;
  }

  private dAdamHyper(): AdamHyper {
    const h = this.hyper;
    return { lr: h.dLr, betas: h.dBetas ?? h.betas, eps: h.adamEps };
  }

  /** Inputs `d<k>.*` of one D batch (checked), without the Adam scalars. */
  private dStepFeeds(k: number, d: DStepInputs, what: string): Record<string, Feed> {
    const B = this.batch;
    checkLength(`${what} xReal`, d.xReal, B * 3 * this.G.resolution ** 2);
    checkLength(`${what} yReal`, d.yReal, B);
    checkLength(`${what} z`, d.z, B * this.G.zDim);
    checkLabels(`${what} yFake`, d.yFake, B, this.G.numClasses);
    checkLabels(`${what} yReal`, d.yReal, B, this.D.numClasses);
    return {
      [dStepInput(k, 'x_real')]: d.xReal,
      [dStepInput(k, 'y_real')]: d.yReal,
      [dStepInput(k, 'z')]: d.z,
      [dStepInput(k, 'y_fake')]: d.yFake,
      ...(this.r1Active() ? { [dStepInput(k, 'r1_gamma')]: Float32Array.of(this.hyper.r1Gamma!) } : {}),
      ...this.penaltyFeeds(k, d, what),
    };
  }

  private penaltyFeeds(k: number, d: DStepInputs, what: string): Record<string, Feed> {
    if (!this.penaltyActive()) return {};
    const feeds: Record<string, Feed> = { [dStepInput(k, 'penalty_weight')]: Float32Array.of(this.hyper.penaltyWeight ?? PENALTIES[this.hyper.penalty!].defaultWeight) };
    const shape = this.penaltyNoiseShape();
    if (shape) {
      if (!d.penaltyNoise) throw new Error(`${what}: penalty ${this.hyper.penalty} needs penaltyNoise`);
      checkLength(`${what} penaltyNoise`, d.penaltyNoise, shape.reduce((a, b) => a * b, 1));
      feeds[dStepInput(k, 'penalty_noise')] = d.penaltyNoise;
    }
    return feeds;
  }

  /** Inputs `g.*` of one G batch (checked), σ0-regulariser targets included; not the update's scalars. */
  private gStepFeeds(gi: GStepInputs, what: string): Record<string, Feed> {
    const h = this.hyper;
    checkLength(`${what} z`, gi.z, this.batch * this.G.zDim);
    checkLabels(`${what} yFake`, gi.yFake, this.batch, this.G.numClasses);
    const feeds: Record<string, Feed> = { [gStepInput('z')]: gi.z, [gStepInput('y_fake')]: gi.yFake };
    if (this.sigmaRegActive()) {
      const weights = sigmaRegWeights(this.G);
      const sigma1 = (p: Param): number => this.sigma1.get(p) ?? this.sigma1.set(p, secondSingularValue(p)).get(p)!;
      feeds[`${gStepInput('sigma_reg')}.target`] = sigmaRegTargets(h.sigmaReg!, weights, sigma1);
      feeds[`${gStepInput('sigma_reg')}.strength`] = Float32Array.of(h.sigmaRegStrength!);
    }
    return feeds;
  }

  /** Scalars of G's update: ortho β, Adam at G's next step, EMA decay at `itr`. */
  private gUpdateFeeds(itr: number): Record<string, Feed> {
    const h = this.hyper;
    const gAdam: AdamHyper = { lr: h.gLr, betas: h.gBetas ?? h.betas, eps: h.adamEps };
    return {
      [gStepInput('ortho_scale')]: Float32Array.of(orthoScale(h.orthoVariant, h.orthoBeta)),
      ...adamScalarFeeds(gStepInput('adam'), gAdam, this.gOptim.step + 1),
      ...emaScalarFeeds(itr, { decay: h.emaDecay, start: h.emaStart } satisfies EmaHyper),
    };
  }

  private async runStages(plan: StagePlan, dInputs: DStepInputs[], gInputs?: GStepInputs, itr = this.itr): Promise<StageRun> {
    checkHyper(this.hyper);
    const stage = await this.iterationStage(plan);
    const { layout } = stage;
    const feeds: Record<string, Feed> = {};
    dInputs.forEach((d, k) => {
      Object.assign(feeds, this.dStepFeeds(k, d, `D step ${k}`), adamScalarFeeds(dStepInput(k, 'adam'), this.dAdamHyper(), this.dOptim.step + k + 1));
    });
    if (plan.gStep) Object.assign(feeds, this.gStepFeeds(gInputs!, 'G step'), this.gUpdateFeeds(itr));
    const r = await this.runStage(stage, feeds);

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

  /**
   * One D step over K = micro.length micro-batches (upstream's num_D_accumulations loop):
   * K runs of the d-grad stage, the gradients of D_loss / K summed, one run of d-apply.
   */
  private async accumulatedDStep(micro: DStepInputs[], trace: boolean): Promise<{ result: DStepResult; trace?: DStepTrace }> {
    checkHyper(this.hyper);
    const K = micro.length;
    const [grad, apply] = await Promise.all([this.dGradStage(trace), this.dApplyStage()]);
    const sum = new Map<Param, Float32Array>();
    const mean = { real: 0, fake: 0, r1: 0, penalty: 0 };
    const traced: Record<'gZ' | 'dFake' | 'dReal', Float32Array[]> = { gZ: [], dFake: [], dReal: [] };
    for (const [j, d] of micro.entries()) {
      const r = await this.runStage(grad, { ...this.dStepFeeds(0, d, `D micro-batch ${j}`), [ACC_DIVISOR]: Float32Array.of(K) });
      addGradients(sum, grad.layout.grads, r);
      // logged losses: the mean over micro-batches of the unscaled losses, i.e. the loss of the effective batch
      mean.real += scalar(r, grad.layout.lossReal) / K;
      mean.fake += scalar(r, grad.layout.lossFake) / K;
      if (grad.layout.r1) mean.r1 += scalar(r, grad.layout.r1) / K;
      if (grad.layout.penalty) mean.penalty += scalar(r, grad.layout.penalty) / K;
      const t = grad.layout.trace;
      if (t) for (const key of ['gZ', 'dFake', 'dReal'] as const) traced[key].push(r[t[key]] as Float32Array);
    }
    const feeds: Record<string, Feed> = { ...adamScalarFeeds(dStepInput(0, 'adam'), this.dAdamHyper(), this.dOptim.step + 1) };
    for (const [p, name] of apply.layout.grads) feeds[name] = sum.get(p)!;
    const r = await this.runStage(apply, feeds);
    this.dOptim.step += 1;
    const result: DStepResult = {
      lossReal: mean.real, lossFake: mean.fake, gradNorm: scalar(r, apply.layout.gradNorm),
      ...(grad.layout.r1 ? { r1: mean.r1 } : {}), ...(grad.layout.penalty ? { penalty: mean.penalty } : {}),
    };
    if (!trace) return { result };
    const changed = new Set([...grad.layout.state.keys(), ...apply.layout.state.keys()]);
    const entries = [...this.G.namedParams(), ...this.D.namedParams()].map(([, p]) => p).filter((p) => changed.has(p));
    return {
      result,
      trace: {
        gZ: concat(traced.gZ),
        dFake: concat(traced.dFake),
        dReal: concat(traced.dReal),
        grads: sum,
        after: new Map(entries.map((p) => [p, p.data])),
      },
    };
  }

  /**
   * The G step over K = micro.length micro-batches (upstream's num_G_accumulations loop):
   * K runs of g-grad, the gradients of G_loss / K summed, then g-apply (ortho term once, Adam, EMA at `itr`).
   */
  private async accumulatedGStep(micro: GStepInputs[], itr: number, trace: boolean): Promise<{ result: GStepResult; trace?: GStepTrace }> {
    checkHyper(this.hyper);
    const K = micro.length;
    const [grad, apply] = await Promise.all([this.gGradStage(trace), this.gApplyStage(trace)]);
    const sum = new Map<Param, Float32Array>();
    const mean = { loss: 0, sigmaReg: 0 };
    const traced: Record<'gZ' | 'dFake', Float32Array[]> = { gZ: [], dFake: [] };
    for (const [j, gi] of micro.entries()) {
      const r = await this.runStage(grad, { ...this.gStepFeeds(gi, `G micro-batch ${j}`), [ACC_DIVISOR]: Float32Array.of(K) });
      addGradients(sum, grad.layout.grads, r);
      // logged: the mean over micro-batches of the unscaled losses
      mean.loss += scalar(r, grad.layout.loss) / K;
      if (grad.layout.sigmaReg) mean.sigmaReg += scalar(r, grad.layout.sigmaReg) / K;
      const t = grad.layout.trace;
      if (t) for (const key of ['gZ', 'dFake'] as const) traced[key].push(r[t[key]] as Float32Array);
    }
    const feeds: Record<string, Feed> = this.gUpdateFeeds(itr);
    for (const [p, name] of apply.layout.grads) feeds[name] = sum.get(p)!;
    const r = await this.runStage(apply, feeds);
    this.gOptim.step += 1;
    const result: GStepResult = {
      loss: mean.loss,
      gradNorm: scalar(r, apply.layout.gradNorm),
      gradNormWithOrtho: scalar(r, apply.layout.gradNormTotal),
      ...(grad.layout.sigmaReg ? { sigmaReg: mean.sigmaReg } : {}),
    };
    const t = apply.layout.trace;
    if (!t) return { result };
    const byParam = (m: Map<Param, string>): Map<Param, Float32Array> => new Map([...m].map(([p, name]) => [p, r[name] as Float32Array]));
    return { result, trace: { gZ: concat(traced.gZ), dFake: concat(traced.dFake), lossGrads: sum, ortho: byParam(t.ortho), grads: byParam(t.grads) } };
  }
}

interface StageRun {
  dSteps: { result: DStepResult; trace?: DStepTrace }[];
  gStep?: { result: GStepResult; trace?: GStepTrace };
}

function checkHyper(h: GanHyper): void {
  const pos = (v: number, what: string) => {
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`${what} must be a positive number, got ${v}`);
  };
  pos(h.gLr, 'gLr');
  pos(h.dLr, 'dLr');
  pos(h.adamEps, 'adamEps');
  for (const [what, b] of [['betas', h.betas], ['gBetas', h.gBetas], ['dBetas', h.dBetas]] as const) {
    if (b && !(b.length === 2 && b.every((x) => x >= 0 && x < 1))) throw new Error(`${what} must be two numbers in [0, 1), got [${b}]`);
  }
  if (!Number.isInteger(h.numDSteps) || h.numDSteps < 1) throw new Error(`numDSteps must be a positive integer, got ${h.numDSteps}`);
  for (const [what, k] of [['numDAccumulations', h.numDAccumulations], ['numGAccumulations', h.numGAccumulations]] as const) {
    if (k !== undefined && !(Number.isInteger(k) && k >= 1)) throw new Error(`${what} must be a positive integer, got ${k}`);
  }
  if (!ORTHO_VARIANTS.includes(h.orthoVariant)) throw new Error(`orthoVariant must be one of ${ORTHO_VARIANTS.join(', ')}, got ${h.orthoVariant}`);
  if (!(h.orthoBeta >= 0)) throw new Error(`orthoBeta must be >= 0, got ${h.orthoBeta}`);
  if (!(h.emaDecay >= 0 && h.emaDecay <= 1)) throw new Error(`emaDecay must be in [0, 1], got ${h.emaDecay}`);
  if (!(h.emaStart >= 0)) throw new Error(`emaStart must be >= 0, got ${h.emaStart}`);
  if (h.r1Gamma !== undefined && !(Number.isFinite(h.r1Gamma) && h.r1Gamma >= 0)) throw new Error(`r1Gamma must be >= 0, got ${h.r1Gamma}`);
  if (h.loss !== undefined && !Object.hasOwn(LOSSES, h.loss)) throw new Error(`unknown loss ${h.loss}`);
  if (h.penalty !== undefined && !Object.hasOwn(PENALTIES, h.penalty)) throw new Error(`unknown penalty ${h.penalty}`);
  if (h.penaltyWeight !== undefined && !(Number.isFinite(h.penaltyWeight) && h.penaltyWeight >= 0)) throw new Error(`penaltyWeight must be >= 0, got ${h.penaltyWeight}`);
  checkSigmaReg(h.sigmaReg, h.sigmaRegStrength);
}

function checkLength(what: string, a: { length: number }, n: number): void {
  if (a.length !== n) throw new Error(`${what}: expected ${n} values, got ${a.length}`);
}

function checkLabels(what: string, y: BigInt64Array, n: number, classes: number): void {
  checkLength(what, y, n);
  for (const v of y) if (v < 0n || v >= BigInt(classes)) throw new Error(`${what}: class ${v} outside [0, ${classes})`);
}

/**
 * Adds a grad stage's gradients into `sum` (torch's `.grad +=` over the backward calls).
 * Done here rather than as a running-sum graph input: one grad graph serves every
 * micro-batch (no zero feed or separate first pass), and a float32 add per parameter
 * is nothing next to a forward and backward pass. Float32Array stores round each sum to
 * float32, as torch's add does.
 */
function addGradients(sum: Map<Param, Float32Array>, names: Map<Param, string>, r: Record<string, Fetched>): void {
  for (const [p, name] of names) {
    const g = r[name] as Float32Array;
    const s = sum.get(p);
    if (!s) sum.set(p, Float32Array.from(g));
    else for (let i = 0; i < s.length; i++) s[i] += g[i];
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of parts) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}
