/**
 * Collapse watch: the paper's signatures of training collapse (§4.1, Figure 3),
 * checked as the run goes.
 *
 *  - sigma-explosion: a G layer's top singular value σ0 grows by more than
 *    `sigmaFactor` within the last `sigmaWindow` measurements (G's σ0 curves are
 *    smooth until they spike at collapse);
 *  - d-loss-jump: D's loss (real + fake, mean over `dLossWindow` iterations) first
 *    approaches zero (below `dLossLow`), then jumps above `dLossHigh`;
 *  - degenerate-samples: the within-class diversity of the fixed-latent sample sheet
 *    falls below `diversityFraction` of the best seen so far (samples of one class
 *    becoming the same image, or noise without structure collapsing to flat colour).
 *
 * No signal is raised before `warmup` iterations. Each signal carries the step from
 * which the run can no longer be called healthy (`onset`): the previous measurement
 * for σ0 and samples, the start of the averaging window for D's loss. The watch's
 * state is plain JSON, saved in checkpoints so a resumed run judges exactly as an
 * uninterrupted one.
 */
import type { CollapseConfig } from './config.js';
import type { SingularValueTable } from './singular-values.js';
import type { Module } from '../../nn/module.js';
import { ClassTable } from '../../nn/batchnorm.js';

/**
 * G's σ0 values the sigma-explosion signal watches: every weight matrix but the class tables
 * of class-conditional BN, which are per-class BN gains and biases, not layers (like the
 * rank-1 BN gains, not watched). The GAN-landscape generators start them at 0, so any
 * growth would read as an explosion.
 */
export function watchedLayers(G: Module, sigmas: SingularValueTable): SingularValueTable {
  const tables = new Set(G.namedModules().flatMap(([path, m]) => (m instanceof ClassTable ? [`${path}.weight`] : [])));
  return Object.fromEntries(Object.entries(sigmas).filter(([path]) => !tables.has(path)));
}

export type SignalKind = 'sigma-explosion' | 'd-loss-jump' | 'degenerate-samples';

export interface CollapseSignal {
  kind: SignalKind;
  /** Iteration at which it was detected. */
  step: number;
  /** The last step known to be before the collapse. */
  onset: number;
  detail: string;
}

export interface WatchState {
  /** The last dLossWindow D losses. */
  dLosses: number[];
  /** Lowest full-window mean D loss seen after warmup (null: none yet). */
  dLossLowest: number | null;
  /** Per G layer: the last sigmaWindow σ0 measurements [step, σ0]. */
  sigma: Record<string, [number, number][]>;
  bestDiversity: number | null;
  lastSampleStep: number | null;
}

export function emptyWatchState(): WatchState {
  return { dLosses: [], dLossLowest: null, sigma: {}, bestDiversity: null, lastSampleStep: null };
}

export class CollapseWatch {
  private s: WatchState;

  constructor(
    private readonly cfg: CollapseConfig,
    state?: WatchState,
  ) {
    this.s = state ? structuredClone(state) : emptyWatchState();
  }

  state(): WatchState {
    return structuredClone(this.s);
  }

  /** After every iteration, with D's total loss of its last D step. */
  onIteration(step: number, dLoss: number): CollapseSignal | null {
    const w = this.cfg.dLossWindow;
    this.s.dLosses.push(dLoss);
    if (this.s.dLosses.length > w) this.s.dLosses.shift();
    if (this.s.dLosses.length < w || step < this.cfg.warmup) return null;
    const mean = this.s.dLosses.reduce((a, b) => a + b, 0) / w;
    const lowest = this.s.dLossLowest;
    if (lowest === null || mean < lowest) this.s.dLossLowest = mean;
    if (this.cfg.enabled && lowest !== null && lowest < this.cfg.dLossLow && mean > this.cfg.dLossHigh) {
      return {
        kind: 'd-loss-jump',
        step,
        onset: Math.max(0, step - w),
        detail: `D's loss (mean of the last ${w} iterations) jumped to ${mean.toFixed(3)} after having been as low as ${lowest.toFixed(3)}`,
      };
    }
    return null;
  }

  /** After each singular-value measurement of G. */
  onSingularValues(step: number, g: SingularValueTable): CollapseSignal | null {
    let worst: { layer: string; ratio: number; from: [number, number]; now: number } | null = null;
    for (const [layer, values] of Object.entries(g)) {
      const now = values[0];
      const hist = (this.s.sigma[layer] ??= []);
      if (hist.length && step >= this.cfg.warmup) {
        const low = hist.reduce((a, b) => (b[1] < a[1] ? b : a));
        const ratio = now / low[1];
        if (ratio > this.cfg.sigmaFactor && (!worst || ratio > worst.ratio)) worst = { layer, ratio, from: low, now };
      }
      hist.push([step, now]);
      if (hist.length > this.cfg.sigmaWindow) hist.shift();
    }
    if (!worst || !this.cfg.enabled) return null;
    const previous = this.s.sigma[worst.layer];
    const onset = previous.length >= 2 ? previous[previous.length - 2][0] : worst.from[0];
    return {
      kind: 'sigma-explosion',
      step,
      onset,
      detail: `σ0 of G's ${worst.layer} grew ${worst.ratio.toFixed(1)}x (from ${worst.from[1].toPrecision(4)} at step ${worst.from[0]} to ${worst.now.toPrecision(4)})`,
    };
  }

  /** After each sample sheet, with its within-class diversity. */
  onSamples(step: number, diversity: number): CollapseSignal | null {
    const best = this.s.bestDiversity;
    const previousStep = this.s.lastSampleStep;
    this.s.lastSampleStep = step;
    if (step < this.cfg.warmup) return null;
    if (best === null || diversity > best) this.s.bestDiversity = diversity;
    if (this.cfg.enabled && best !== null && diversity < this.cfg.diversityFraction * best) {
      return {
        kind: 'degenerate-samples',
        step,
        onset: previousStep ?? 0,
        detail: `sample diversity fell to ${diversity.toFixed(4)}, ${((100 * diversity) / best).toFixed(0)}% of its best ${best.toFixed(4)}`,
      };
    }
    return null;
  }
}

/** Within-class diversity of a sheet: per class, the pixel-wise std over its samples, averaged; then over classes. */
export function sheetDiversity(images: Float32Array, perImage: number, classOf: number[]): number {
  const groups = new Map<number, number[]>();
  classOf.forEach((c, i) => (groups.get(c) ?? groups.set(c, []).get(c)!).push(i));
  let total = 0;
  let count = 0;
  for (const idx of groups.values()) {
    if (idx.length < 2) continue;
    let sum = 0;
    for (let p = 0; p < perImage; p++) {
      let m = 0;
      for (const i of idx) m += images[i * perImage + p];
      m /= idx.length;
      let v = 0;
      for (const i of idx) v += (images[i * perImage + p] - m) ** 2;
      sum += Math.sqrt(v / idx.length);
    }
    total += sum / perImage;
    count++;
  }
  return count ? total / count : 0;
}
