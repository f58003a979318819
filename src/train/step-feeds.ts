/**
 * The feeds of the training stages: one D or G batch's inputs (checked against the
 * networks), the penalty's and σ0 regulariser's inputs, and the update scalars (Adam at
 * the optimizer's next step, ortho β, EMA decay).
 */
import { Param } from '../engine/graph.js';
import type { Feed } from '../engine/runtime.js';
import type { DiscriminatorModel, GeneratorModel } from '../models/interfaces.js';
import { PENALTIES } from './penalties/penalties.js';
import { AdamHyper, adamScalarFeeds } from './adam.js';
import type { AdamState } from './optimizer-state.js';
import { orthoScale } from './orthogonal-regularization.js';
import { EmaHyper, emaScalarFeeds } from './ema.js';
import { secondSingularValue, sigmaRegTargets, sigmaRegWeights } from './sigma-regularization.js';
import { GanHyper, penaltyActive, r1Active, sigmaRegActive } from './gan-hyper.js';
import { dStepInput, gStepInput } from './step-parts.js';
import type { DStepInputs, GStepInputs } from './step-types.js';

export interface FedNetworks {
  G: GeneratorModel;
  D: DiscriminatorModel;
  batch: number;
  /** G's optimizer: its update scalars are for its next step. */
  gOptim: AdamState;
}

export class StepFeeds {
  /** σ1 per regularised G weight for the ratio form of the σ0 regulariser (see setSigma1). */
  private readonly sigma1 = new Map<Param, number>();

  constructor(
    private readonly nets: FedNetworks,
    /** The current hyper-parameters (read at every call: the trainer's may be replaced). */
    private readonly hyper: () => GanHyper,
  ) {}

  /** σ1 estimates of G's weights; a weight without one is measured at its next G step. */
  setSigma1(values: Map<Param, number>): void {
    for (const [p, v] of values) this.sigma1.set(p, v);
  }

  dAdamHyper(): AdamHyper {
    const h = this.hyper();
    return { lr: h.dLr, betas: h.dBetas ?? h.betas, eps: h.adamEps };
  }

  /** Inputs `d<k>.*` of one D batch (checked), without the Adam scalars. */
  dStep(k: number, d: DStepInputs, what: string): Record<string, Feed> {
    const { G, D, batch: B } = this.nets;
    checkLength(`${what} xReal`, d.xReal, B * 3 * G.resolution ** 2);
    checkLength(`${what} yReal`, d.yReal, B);
    checkLength(`${what} z`, d.z, B * G.zDim);
    checkLabels(`${what} yFake`, d.yFake, B, G.numClasses);
    checkLabels(`${what} yReal`, d.yReal, B, D.numClasses);
    return {
      [dStepInput(k, 'x_real')]: d.xReal,
      [dStepInput(k, 'y_real')]: d.yReal,
      [dStepInput(k, 'z')]: d.z,
      [dStepInput(k, 'y_fake')]: d.yFake,
      ...(r1Active(this.hyper()) ? { [dStepInput(k, 'r1_gamma')]: Float32Array.of(this.hyper().r1Gamma!) } : {}),
      ...this.penalty(k, d, what),
    };
  }

  /** The noise shape of the active penalty for one D batch, if it takes noise. */
  penaltyNoiseShape(): number[] | null {
    const h = this.hyper();
    if (!penaltyActive(h)) return null;
    const R = this.nets.G.resolution;
    return PENALTIES[h.penalty!].noiseShape([this.nets.batch, 3, R, R]);
  }

  private penalty(k: number, d: DStepInputs, what: string): Record<string, Feed> {
    const h = this.hyper();
    if (!penaltyActive(h)) return {};
    const feeds: Record<string, Feed> = { [dStepInput(k, 'penalty_weight')]: Float32Array.of(h.penaltyWeight ?? PENALTIES[h.penalty!].defaultWeight) };
    const shape = this.penaltyNoiseShape();
    if (shape) {
      if (!d.penaltyNoise) throw new Error(`${what}: penalty ${h.penalty} needs penaltyNoise`);
      checkLength(`${what} penaltyNoise`, d.penaltyNoise, shape.reduce((a, b) => a * b, 1));
      feeds[dStepInput(k, 'penalty_noise')] = d.penaltyNoise;
    }
    return feeds;
  }

  /** Inputs `g.*` of one G batch (checked), σ0-regulariser targets included; not the update's scalars. */
  gStep(gi: GStepInputs, what: string): Record<string, Feed> {
    const h = this.hyper();
    const { G, batch } = this.nets;
    checkLength(`${what} z`, gi.z, batch * G.zDim);
    checkLabels(`${what} yFake`, gi.yFake, batch, G.numClasses);
    const feeds: Record<string, Feed> = { [gStepInput('z')]: gi.z, [gStepInput('y_fake')]: gi.yFake };
    if (sigmaRegActive(h)) {
      const weights = sigmaRegWeights(G);
      const sigma1 = (p: Param): number => this.sigma1.get(p) ?? this.sigma1.set(p, secondSingularValue(p)).get(p)!;
      feeds[`${gStepInput('sigma_reg')}.target`] = sigmaRegTargets(h.sigmaReg!, weights, sigma1);
      feeds[`${gStepInput('sigma_reg')}.strength`] = Float32Array.of(h.sigmaRegStrength!);
    }
    return feeds;
  }

  /** Scalars of G's update: ortho β, Adam at G's next step, EMA decay at `itr`. */
  gUpdate(itr: number): Record<string, Feed> {
    const h = this.hyper();
    const gAdam: AdamHyper = { lr: h.gLr, betas: h.gBetas ?? h.betas, eps: h.adamEps };
    return {
      [gStepInput('ortho_scale')]: Float32Array.of(orthoScale(h.orthoVariant, h.orthoBeta)),
      ...adamScalarFeeds(gStepInput('adam'), gAdam, this.nets.gOptim.step + 1),
      ...emaScalarFeeds(itr, { decay: h.emaDecay, start: h.emaStart } satisfies EmaHyper),
    };
  }
}

export function checkLength(what: string, a: { length: number }, n: number): void {
  if (a.length !== n) throw new Error(`${what}: expected ${n} values, got ${a.length}`);
}

function checkLabels(what: string, y: BigInt64Array, n: number, classes: number): void {
  checkLength(what, y, n);
  for (const v of y) if (v < 0n || v >= BigInt(classes)) throw new Error(`${what}: class ${v} outside [0, ${classes})`);
}
