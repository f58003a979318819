/**
 * A sweep's finished trials as the report's rows: models (one per trial) and settings
 * (a setting's seeds together). A model without an FID (diverged) scores +Infinity.
 * A setting's "variant" is its non-numeric varied options (loss, penalty, normalisation...:
 * the study's model families); its numeric ones are hyper-parameters, pairs split into
 * elements (betas.0 = β1).
 */
import type { Json, Setting } from '../spec.js';
import type { SweepState } from '../runner.js';
import { median } from './statistics.js';

export interface Model {
  id: string;
  settingId: string;
  seed: number;
  fid: number;
  /** KID (mean over subsets), when evaluated. */
  kid?: number;
  /** Every metric the trial recorded (result.json), e.g. precision, recall, density, coverage, ifid. */
  metrics: Record<string, number>;
  hyper: Record<string, number>;
  variant: string;
  setting: Setting;
}

export interface SettingSummary {
  settingId: string;
  setting: Setting;
  variant: string;
  hyper: Record<string, number>;
  seeds: number;
  medianFid: number;
  bestFid: number;
  /** Median over the seeds that recorded it, per metric (FID's included). */
  medianMetrics: Record<string, number>;
}

function splitSetting(s: Setting): { hyper: Record<string, number>; variant: string } {
  const hyper: Record<string, number> = {};
  const cat: string[] = [];
  for (const k of Object.keys(s).sort()) {
    const v: Json = s[k];
    if (typeof v === 'number') hyper[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) v.forEach((x, i) => (hyper[`${k}.${i}`] = x as number));
    else cat.push(`${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  }
  return { hyper, variant: cat.length ? cat.join(' ') : 'all' };
}

/** The finished trials as models, in the sweep's trial order. */
export function modelsOf(state: SweepState): Model[] {
  const out: Model[] = [];
  for (const t of state.trials) {
    if (t.status !== 'finished' || !t.result) continue;
    const m = t.result.metrics;
    const fid = typeof m.fid === 'number' ? m.fid : Infinity;
    const kid = typeof m.kid_mean === 'number' ? m.kid_mean : typeof m.fid === 'number' ? undefined : Infinity;
    out.push({ id: t.id, settingId: t.settingId, seed: t.seed, fid, ...(kid !== undefined ? { kid } : {}), metrics: { ...m }, setting: t.setting, ...splitSetting(t.setting) });
  }
  return out;
}

/** Per setting: median and best FID over its finished seeds (the study's Tables 8-10). */
export function settingsSummary(models: readonly Model[]): SettingSummary[] {
  const by = new Map<string, Model[]>();
  for (const m of models) by.set(m.settingId, [...(by.get(m.settingId) ?? []), m]);
  return [...by.values()].map((ms) => ({
    settingId: ms[0].settingId,
    setting: ms[0].setting,
    variant: ms[0].variant,
    hyper: ms[0].hyper,
    seeds: ms.length,
    medianFid: median(ms.map((m) => m.fid)),
    bestFid: Math.min(...ms.map((m) => m.fid)),
    medianMetrics: Object.fromEntries([...new Set(ms.flatMap((m) => Object.keys(m.metrics)))].map((k) => [
      k, median(ms.flatMap((m) => (typeof m.metrics[k] === 'number' ? [m.metrics[k]] : []))),
    ])),
  }));
}
