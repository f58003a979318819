/**
 * The BigGAN training iteration (BigGAN-PyTorch train_fns.GAN_training_function with
 * hinge loss, toggle_grads, one device, no gradient accumulation), run as compiled
 * onnxruntime graphs:
 *
 *   const trainer = new GanTrainer({ G, D, G_ema, hyper, batch });
 *   const r = await trainer.iteration({ xReal, yReal, zs, yFakes });
 *
 * `xReal` holds numDSteps * batch real images (D step k uses rows [kB, (k+1)B), as
 * upstream's loader batch), `zs` / `yFakes` hold numDSteps + 1 latent / label batches
 * (one per D step, then the G step's). Each call advances `itr`, updates every
 * Param of G, D and G_ema in place (their `.data` arrays are replaced) and the Adam
 * states `gOptim` / `dOptim`, and returns the losses (the last D step's, as upstream
 * reports them, and every step's) and gradient norms.
 *
 * graphs 'single' (default) compiles the whole iteration into one graph; 'per-step'
 * compiles one D-step graph run numDSteps times and one G-step(+EMA) graph: faster
 * to compile, slightly slower per iteration. Compiled graphs are cached per stage
 * plan. The trainer prefixes parameter names with 'G.', 'D.', 'G_ema.' (names must be
 * unique in one ONNX graph); state-dict paths (namedParams) are unaffected.
 */
import { Param } from '../engine/graph.js';
import { CompiledGraph, Feed, Fetched, RuntimeOptions } from '../engine/runtime.js';
import type { DiscriminatorModel, GeneratorModel } from '../models/interfaces.js';
import { Rng } from '../random/rng.js';
import { AdamHyper, adamScalarFeeds } from './adam.js';
import { AdamState } from './optimizer-state.js';
import { OrthoVariant, ORTHO_VARIANTS, orthoScale, orthoTargets } from './orthogonal-regularization.js';
import { EmaHyper, emaScalarFeeds } from './ema.js';
import { checkSigmaReg, secondSingularValue, SigmaRegTarget, sigmaRegTargets, sigmaRegWeights } from './sigma-regularization.js';
import { buildIterationGraph, dStepInput, gStepInput, IterationGraph, StagePlan } from './iteration-graph.js';

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
  /** σ0 regularisation of G's SN weights towards a fixed target or r · σ1 (absent: off); see sigma-regularization.ts. */
  sigmaReg?: SigmaRegTarget;
  /** β_σ of the σ0 regulariser (absent or 0: off). */
  sigmaRegStrength?: number;
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

export interface IterationInputs {
  /** [numDSteps * batch, 3, R, R] in [-1, 1]. */
  xReal: Float32Array;
  /** [numDSteps * batch] class ids. */
  yReal: BigInt64Array;
  /** numDSteps + 1 latent batches [batch, zDim]: one per D step, then the G step's. */
  zs: Float32Array[];
  /** numDSteps + 1 fake-label batches [batch], paired with zs. */
  yFakes: BigInt64Array[];
}

export interface DStepInputs {
  xReal: Float32Array;
  yReal: BigInt64Array;
  z: Float32Array;
  yFake: BigInt64Array;
}

export interface GStepInputs {
  z: Float32Array;
  yFake: BigInt64Array;
}

export interface DStepResult {
  lossReal: number;
  lossFake: number;
  /** Global L2 norm of D's gradient (of the loss Adam consumes, R1 term included). */
  gradNorm: number;
  /** mean ||∂D(x_real)/∂x_real||² of this step (before γ/2), when r1Gamma > 0. */
  r1?: number;
}

export interface DStepTrace {
  gZ: Float32Array;
  dFake: Float32Array;
  dReal: Float32Array;
  /** Gradient of D_loss_real + D_loss_fake per trainable D parameter. */
  grads: Map<Param, Float32Array>;
  /** Every G and D entry this step changed, after it (D weights, SN vectors, BN statistics). */
  after: Map<Param, Float32Array>;
}

export interface GStepResult {
  loss: number;
  /** Global L2 norm of dG_loss/dθ. */
  gradNorm: number;
  /** ... and of the gradient Adam consumes (with the ortho term). */
  gradNormWithOrtho: number;
  /** Σ (σ0 − target)² over G's SN weights (before β_σ), when the σ0 regulariser is on. */
  sigmaReg?: number;
}

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

interface CompiledStage {
  graph: CompiledGraph;
  layout: IterationGraph;
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
  /** Mutable: learning rates, betas, eps, β and EMA settings apply from the next call (numDSteps / orthoVariant may recompile). */
  hyper: GanHyper;
  readonly batch: number;
  readonly gOptim: AdamState;
  readonly dOptim: AdamState;
  /** Iterations done (upstream state_dict['itr']); the EMA schedule reads it. */
  itr = 0;
  private readonly mode: 'single' | 'per-step';
  private readonly runtime: RuntimeOptions;
  private readonly stages = new Map<string, Promise<CompiledStage>>();
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
  }

  /** One training iteration (numDSteps D steps, the G step, EMA). */
  async iteration(inputs: IterationInputs, opts: { trace?: boolean } = {}): Promise<IterationResult> {
    const n = this.hyper.numDSteps;
    const B = this.batch;
    const img = 3 * this.G.resolution * this.G.resolution;
    checkLength('xReal', inputs.xReal, n * B * img);
    checkLength('yReal', inputs.yReal, n * B);
    if (inputs.zs.length !== n + 1 || inputs.yFakes.length !== n + 1) {
      throw new Error(`zs and yFakes need ${n + 1} batches each (${n} D steps, then the G step), got ${inputs.zs.length} and ${inputs.yFakes.length}`);
    }
    const dIn = (k: number): DStepInputs => ({
      xReal: inputs.xReal.subarray(k * B * img, (k + 1) * B * img),
      yReal: inputs.yReal.subarray(k * B, (k + 1) * B),
      z: inputs.zs[k],
      yFake: inputs.yFakes[k],
    });
    const gIn: GStepInputs = { z: inputs.zs[n], yFake: inputs.yFakes[n] };
    const itr = this.itr + 1; // upstream counts the iteration before running it (the EMA schedule sees it)
    const trace = opts.trace ?? false;
    let dSteps: { result: DStepResult; trace?: DStepTrace }[];
    let gStep: { result: GStepResult; trace?: GStepTrace };
    if (this.mode === 'single') {
      ({ dSteps, gStep } = (await this.runStages({ dSteps: n, gStep: true, trace }, [...Array(n).keys()].map(dIn), gIn, itr)) as Required<StageRun>);
    } else {
      dSteps = [];
      for (let k = 0; k < n; k++) dSteps.push((await this.runStages({ dSteps: 1, gStep: false, trace }, [dIn(k)])).dSteps[0]);
      gStep = (await this.runStages({ dSteps: 0, gStep: true, trace }, [], gIn, itr)).gStep!;
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

  /** One D step alone (stage restarts in tests; does not advance itr). */
  async discriminatorStep(inputs: DStepInputs, opts: { trace?: boolean } = {}): Promise<{ result: DStepResult; trace?: DStepTrace }> {
    return (await this.runStages({ dSteps: 1, gStep: false, trace: opts.trace ?? false }, [inputs])).dSteps[0];
  }

  /** The G step and EMA alone, EMA decay from the current itr (stage restarts; does not advance itr). */
  async generatorStep(inputs: GStepInputs, opts: { trace?: boolean } = {}): Promise<{ result: GStepResult; trace?: GStepTrace }> {
    return (await this.runStages({ dSteps: 0, gStep: true, trace: opts.trace ?? false }, [], inputs)).gStep!;
  }

  /** Latents z ~ N(0, zStd²) (upstream z_var is used as the standard deviation) and uniform fake labels for one iteration. */
  sampleNoise(rng: Rng, zStd = 1): Pick<IterationInputs, 'zs' | 'yFakes'> {
    const n = this.hyper.numDSteps + 1;
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
    if (this.mode === 'single') await this.stage({ dSteps: n, gStep: true, trace });
    else await Promise.all([this.stage({ dSteps: 1, gStep: false, trace }), this.stage({ dSteps: 0, gStep: true, trace })]);
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

  private r1Active(): boolean {
    return (this.hyper.r1Gamma ?? 0) > 0;
  }

  private sigmaRegActive(): boolean {
    return this.hyper.sigmaReg !== undefined && (this.hyper.sigmaRegStrength ?? 0) > 0;
  }

  private stage(plan: StagePlan): Promise<CompiledStage> {
    const ortho = this.orthoActive() ? this.hyper.orthoVariant : 'none';
    const key = `${plan.dSteps}/${plan.gStep}/${plan.trace}/${ortho}/r1:${this.r1Active()}/sigma:${this.sigmaRegActive()}`;
    let s = this.stages.get(key);
    if (!s) {
      s = this.compile(plan, ortho, key);
      this.stages.set(key, s);
      s.catch(() => this.stages.delete(key));
    }
    return s;
  }

  private orthoActive(): boolean {
    return this.hyper.orthoVariant !== 'none' && this.hyper.orthoBeta !== 0;
  }

  private async compile(plan: StagePlan, ortho: OrthoVariant, key: string): Promise<CompiledStage> {
    const t0 = performance.now();
    const layout = buildIterationGraph(
      {
        G: this.G,
        D: this.D,
        G_ema: this.G_ema,
        gAdam: this.gOptim,
        dAdam: this.dOptim,
        orthoVariant: ortho,
        orthoTargets: orthoTargets(this.G),
        batch: this.batch,
        r1: this.r1Active(),
        sigmaReg: this.sigmaRegActive() ? sigmaRegWeights(this.G) : undefined,
      },
      plan,
    );
    const t1 = performance.now();
    const graph = await CompiledGraph.create(layout.model, this.runtime);
    const t2 = performance.now();
    const stage = { graph, layout, buildSeconds: (t1 - t0) / 1000, sessionSeconds: (t2 - t1) / 1000 };
    this.stats.push({ stage: key, nodes: layout.nodes, bytes: layout.model.bytes.length, buildSeconds: stage.buildSeconds, sessionSeconds: stage.sessionSeconds });
    return stage;
  }

  private async runStages(plan: StagePlan, dInputs: DStepInputs[], gInputs?: GStepInputs, itr = this.itr): Promise<StageRun> {
    checkHyper(this.hyper);
    const { graph, layout } = await this.stage(plan);
    const h = this.hyper;
    const B = this.batch;
    const feeds: Record<string, Feed> = {};
    for (const inp of layout.model.inputs) if (inp.param) feeds[inp.name] = inp.param.data;
    const dAdam: AdamHyper = { lr: h.dLr, betas: h.dBetas ?? h.betas, eps: h.adamEps };
    const gAdam: AdamHyper = { lr: h.gLr, betas: h.gBetas ?? h.betas, eps: h.adamEps };
    dInputs.forEach((d, k) => {
      checkLength(`D step ${k} xReal`, d.xReal, B * 3 * this.G.resolution ** 2);
      checkLength(`D step ${k} yReal`, d.yReal, B);
      checkLength(`D step ${k} z`, d.z, B * this.G.zDim);
      checkLabels(`D step ${k} yFake`, d.yFake, B, this.G.numClasses);
      checkLabels(`D step ${k} yReal`, d.yReal, B, this.D.numClasses);
      Object.assign(feeds, {
        [dStepInput(k, 'x_real')]: d.xReal,
        [dStepInput(k, 'y_real')]: d.yReal,
        [dStepInput(k, 'z')]: d.z,
        [dStepInput(k, 'y_fake')]: d.yFake,
        ...adamScalarFeeds(dStepInput(k, 'adam'), dAdam, this.dOptim.step + k + 1),
      });
      if (this.r1Active()) feeds[dStepInput(k, 'r1_gamma')] = Float32Array.of(h.r1Gamma!);
    });
    if (plan.gStep) {
      const gi = gInputs!;
      checkLength('G step z', gi.z, B * this.G.zDim);
      checkLabels('G step yFake', gi.yFake, B, this.G.numClasses);
      Object.assign(feeds, {
        [gStepInput('z')]: gi.z,
        [gStepInput('y_fake')]: gi.yFake,
        [gStepInput('ortho_scale')]: Float32Array.of(orthoScale(h.orthoVariant, h.orthoBeta)),
        ...adamScalarFeeds(gStepInput('adam'), gAdam, this.gOptim.step + 1),
        ...emaScalarFeeds(itr, { decay: h.emaDecay, start: h.emaStart } satisfies EmaHyper),
      });
      if (this.sigmaRegActive()) {
        const weights = sigmaRegWeights(this.G);
        const sigma1 = (p: Param): number => this.sigma1.get(p) ?? this.sigma1.set(p, secondSingularValue(p)).get(p)!;
        feeds[`${gStepInput('sigma_reg')}.target`] = sigmaRegTargets(h.sigmaReg!, weights, sigma1);
        feeds[`${gStepInput('sigma_reg')}.strength`] = Float32Array.of(h.sigmaRegStrength!);
      }
    }
    const r = await graph.run(feeds);

    const f32 = (name: string): Float32Array => r[name] as Float32Array;
    const byParam = (m: Map<Param, string>): Map<Param, Float32Array> => new Map([...m].map(([p, name]) => [p, f32(name)]));
    for (const [p, name] of layout.state) p.data = f32(name);
    this.dOptim.step += dInputs.length;
    if (plan.gStep) this.gOptim.step += 1;

    const run: StageRun = {
      dSteps: layout.dSteps.map((o) => ({
        result: { lossReal: scalar(r, o.lossReal), lossFake: scalar(r, o.lossFake), gradNorm: scalar(r, o.gradNorm), ...(o.r1 ? { r1: scalar(r, o.r1) } : {}) },
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
  if (!ORTHO_VARIANTS.includes(h.orthoVariant)) throw new Error(`orthoVariant must be one of ${ORTHO_VARIANTS.join(', ')}, got ${h.orthoVariant}`);
  if (!(h.orthoBeta >= 0)) throw new Error(`orthoBeta must be >= 0, got ${h.orthoBeta}`);
  if (!(h.emaDecay >= 0 && h.emaDecay <= 1)) throw new Error(`emaDecay must be in [0, 1], got ${h.emaDecay}`);
  if (!(h.emaStart >= 0)) throw new Error(`emaStart must be >= 0, got ${h.emaStart}`);
  if (h.r1Gamma !== undefined && !(Number.isFinite(h.r1Gamma) && h.r1Gamma >= 0)) throw new Error(`r1Gamma must be >= 0, got ${h.r1Gamma}`);
  checkSigmaReg(h.sigmaReg, h.sigmaRegStrength);
}

function checkLength(what: string, a: { length: number }, n: number): void {
  if (a.length !== n) throw new Error(`${what}: expected ${n} values, got ${a.length}`);
}

function checkLabels(what: string, y: BigInt64Array, n: number, classes: number): void {
  checkLength(what, y, n);
  for (const v of y) if (v < 0n || v >= BigInt(classes)) throw new Error(`${what}: class ${v} outside [0, ${classes})`);
}
