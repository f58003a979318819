/**
 * A spec's trials: every setting (grid product or random draws) times every seed.
 * Ids are deterministic from the setting and the seed (a hash of the setting's
 * canonical JSON), so a re-run, or another machine, finds the same trial directories.
 */
import crypto from 'node:crypto';
import { Rng } from '../random/rng.js';
import type { Json, RandomDim, Setting, SweepSpec } from './spec.js';

export interface Trial {
  /** `<setting id>-s<seed>`: the directory name under DIR/trials/. */
  id: string;
  settingId: string;
  /** The varied options of this setting (fixed ones excluded). */
  setting: Setting;
  seed: number;
}

/** JSON with object keys sorted (so equal settings hash equally). */
export function canonicalJson(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

export function settingId(s: Setting): string {
  return crypto.createHash('sha256').update(canonicalJson(s)).digest('hex').slice(0, 10);
}

/** Assigns `value` to option `target` ("name" or "pair.i", the rest of the pair from `base`). */
function assign(out: Setting, target: string, value: Json, base: Setting): void {
  const m = /^(\w+)\.([01])$/.exec(target);
  if (!m) {
    out[target] = value;
    return;
  }
  const prev = (out[m[1]] ?? base[m[1]] ?? [0.9, 0.999]) as Json[];
  const pair = Array.isArray(prev) && prev.length === 2 ? [...prev] : [0.9, 0.999];
  pair[Number(m[2])] = value;
  out[m[1]] = pair;
}

export function draw(d: RandomDim, rng: Rng): Json {
  if (d.kind === 'choices') return d.choices[rng.int(d.choices.length)];
  const u = rng.uniform();
  let x = d.scale === 'log' ? Math.exp(Math.log(d.min) + u * (Math.log(d.max) - Math.log(d.min))) : d.min + u * (d.max - d.min);
  if (d.integer) x = Math.min(Math.floor(x), Math.floor(d.max));
  // short decimals keep settings (and their ids) readable
  return Number(x.toPrecision(6));
}

/** One setting drawn at random from the dimensions (a random-search trial, a GP-UCB candidate). */
export function drawSetting(dims: readonly { dim: RandomDim }[], rng: Rng, fixed: Setting): Setting {
  const s: Setting = {};
  for (const { dim } of dims) {
    const x = draw(dim, rng);
    for (const target of dim.sets) assign(s, target, x, fixed);
  }
  return s;
}

/** The value a setting holds for a dimension (read back from its first target). */
export function dimValue(s: Setting, dim: RandomDim): Json {
  const m = /^(\w+)\.([01])$/.exec(dim.sets[0]);
  return m ? (s[m[1]] as Json[])[Number(m[2])] : s[dim.sets[0]];
}

/** The spec's settings (varied options only), in order; duplicates removed. Bayesian optimisation proposes its settings round by round (bayes/). */
export function settingsOf(spec: SweepSpec): Setting[] {
  const v = spec.vary;
  let out: Setting[];
  if (v.kind === 'grid') {
    out = [{}];
    for (const dim of v.dims) out = out.flatMap((s) => dim.values.map((x) => ({ ...s, ...x })));
  } else if (v.kind === 'random') {
    const rng = new Rng(v.seed);
    out = Array.from({ length: v.trials }, () => drawSetting(v.dims, rng, spec.fixed));
  } else {
    throw new Error('settingsOf: a Bayesian sweep proposes its settings round by round');
  }
  return unique(out);
}

/** Settings with duplicates removed (first kept). */
export function unique(out: Setting[]): Setting[] {
  const seen = new Set<string>();
  return out.filter((s) => {
    const id = settingId(s);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Every trial: settings in spec order, seeds within each. */
export function trialsOf(spec: SweepSpec): Trial[] {
  return trialsFor(settingsOf(spec), spec.seeds);
}

/** The trials of these settings, seeds within each. */
export function trialsFor(settings: readonly Setting[], seeds: readonly number[]): Trial[] {
  return settings.flatMap((setting) => {
    const sid = settingId(setting);
    return seeds.map((seed) => ({ id: `${sid}-s${seed}`, settingId: sid, setting, seed }));
  });
}
