/**
 * Proposals of a GP-UCB round (the study's Table 2: 12 rounds of 10 settings). Round 0
 * draws at random; later rounds fit a GP to the settings scored so far (median FID over
 * seeds, standardised; a failed setting scores as the worst finite one) and pick, among
 * `candidates` random draws, the one maximising -mean + sqrt(beta_t) * sd, with Srinivas
 * et al.'s beta_t = 2 log(|D| t^2 pi^2 / (6 delta)), delta = 0.1, |D| the candidates. A round's
 * later picks use the batch rule of GP-BUCB (Desautels et al. 2014): the picks so far join
 * the GP as pending points, which shrinks the sd around them but leaves the mean alone.
 * Everything is seeded by (spec seed, round): a resumed sweep proposes the same settings.
 */
import { Rng } from '../../random/rng.js';
import type { RandomDim, Setting } from '../spec.js';
import { dimValue, drawSetting, settingId } from '../trials.js';
import { GaussianProcess } from './gp.js';

export interface BayesConfig {
  seed: number;
  proposals: number;
  candidates: number;
  dims: { name: string; dim: RandomDim }[];
}

export interface Observation {
  setting: Setting;
  /** Median FID over the setting's seeds (+Infinity: failed). */
  fid: number;
}

/** A setting as a point of the unit cube (log dimensions in log space, choices by position). */
export function encode(s: Setting, dims: readonly { dim: RandomDim }[]): Float64Array {
  return Float64Array.from(dims, ({ dim }) => {
    const v = dimValue(s, dim);
    if (dim.kind === 'choices') {
      const i = dim.choices.findIndex((c) => JSON.stringify(c) === JSON.stringify(v));
      return dim.choices.length > 1 ? i / (dim.choices.length - 1) : 0.5;
    }
    const x = v as number;
    return dim.scale === 'log' ? (Math.log(x) - Math.log(dim.min)) / (Math.log(dim.max) - Math.log(dim.min)) : (x - dim.min) / (dim.max - dim.min);
  });
}

export function ucbBeta(candidates: number, t: number, delta = 0.1): number {
  return 2 * Math.log((candidates * t * t * Math.PI ** 2) / (6 * delta));
}

/** The settings of round `round` given every earlier round's observations. */
export function proposeRound(cfg: BayesConfig, round: number, observed: readonly Observation[], fixed: Setting): Setting[] {
  const rng = new Rng((cfg.seed * 7919 + round * 104729 + 1) >>> 0);
  const seen = new Set(observed.map((o) => settingId(o.setting)));
  const fresh = (s: Setting): boolean => !seen.has(settingId(s));
  if (round === 0 || observed.length === 0) {
    const out: Setting[] = [];
    for (let tries = 0; out.length < cfg.proposals && tries < cfg.proposals * 100; tries++) {
      const s = drawSetting(cfg.dims, rng, fixed);
      if (fresh(s)) {
        seen.add(settingId(s));
        out.push(s);
      }
    }
    return out;
  }
  const finite = observed.map((o) => o.fid).filter(Number.isFinite);
  const worst = finite.length ? Math.max(...finite) : 1;
  const ys = observed.map((o) => (Number.isFinite(o.fid) ? o.fid : worst));
  const mu = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sd = Math.sqrt(ys.reduce((a, b) => a + (b - mu) ** 2, 0) / ys.length) || 1;
  // minimise FID = maximise its negative, standardised
  const target = ys.map((y) => -(y - mu) / sd);
  const xs = observed.map((o) => encode(o.setting, cfg.dims));
  const meanGp = new GaussianProcess(xs, target);
  const cands = Array.from({ length: cfg.candidates }, () => drawSetting(cfg.dims, rng, fixed)).filter(fresh);
  const enc = cands.map((c) => encode(c, cfg.dims));
  const ids = cands.map(settingId);
  const means = enc.map((e) => meanGp.predict(e).mean);
  const picked: number[] = [];
  for (let j = 0; j < cfg.proposals && picked.length < cands.length; j++) {
    const beta = ucbBeta(cfg.candidates, observed.length + j + 1);
    // the variance GP holds the pending picks as observations (their values do not matter)
    const varGp = picked.length ? new GaussianProcess([...xs, ...picked.map((i) => enc[i])], [...target, ...picked.map(() => 0)]) : meanGp;
    let best = -1, bestScore = -Infinity;
    const taken = new Set(picked.map((i) => ids[i]));
    for (let i = 0; i < cands.length; i++) {
      if (taken.has(ids[i])) continue;
      const score = means[i] + Math.sqrt(beta * varGp.predict(enc[i]).variance);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    if (best < 0) break;
    picked.push(best);
  }
  return picked.map((i) => cands[i]);
}
