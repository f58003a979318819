/**
 * A sweep's spec (SPEC.json), validated field by field (one-line UserErrors naming the field):
 *
 *   {
 *     "fixed": { "arch": "sndcgan", "loss": "ns", ... },      train options every trial shares
 *     "vary":  { "grid": { "gLr": [1e-4, 2e-4], "adam": [{ "betas": [0.5, 0.9], "dSteps": 5 }, ...] } }
 *          or  { "random": { "trials": 20, "seed": 0, "ranges": {
 *                   "lr": { "min": 1e-5, "max": 1e-2, "scale": "log", "sets": ["gLr", "dLr"] },
 *                   "beta1": { "min": 0, "max": 1, "sets": ["betas.0"] }, "dSteps": { "choices": [1, 5] } } } }
 *          or  { "bayes": { "rounds": 12, "proposals": 10, "seed": 0, "candidates": 2000, "ranges": { ...as random } } },
 *     "seeds": [0, 1, 2],                                       one trial per setting and seed
 *     "steps": 100000,                                          training budget (iterations) of every trial
 *     "eval":  { "metrics": ["fid", "kid"], "n": 10000, "stats": "ref.npz", "real": "test.npy", "inception": "pt_inception.pth",
 *                "settings": { "kidSubsetSize": 1000 } }                  metric settings (camelCase of `biggan eval` flags)
 *   }
 *
 * A grid key that names a train option lists that option's values; any other key names a
 * joint dimension whose values are objects of options (the study's (β1, β2, n_disc) triples
 * vary together). A random range draws one number per trial into each option of `sets`
 * (default: the key itself); "betas.0" is an element of a pair option. Paths in `eval` and
 * `fixed.data` are relative to the spec file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { resolveDataSpec } from '../data/sources/npy.js';
import type { TrainFlagOptions } from '../api/train.js';
import { TRAIN_FLAGS } from '../train/run/train-flags.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Setting = Record<string, Json>;

export interface RangeDim {
  kind: 'range';
  min: number;
  max: number;
  scale: 'linear' | 'log';
  integer: boolean;
  sets: string[];
}
export interface ChoiceDim {
  kind: 'choices';
  choices: Json[];
  sets: string[];
}
export type RandomDim = RangeDim | ChoiceDim;

export type VarySpec =
  | { kind: 'grid'; dims: { name: string; values: Setting[] }[] }
  | { kind: 'random'; trials: number; seed: number; dims: { name: string; dim: RandomDim }[] }
  | { kind: 'bayes'; rounds: number; proposals: number; seed: number; candidates: number; dims: { name: string; dim: RandomDim }[] };

export interface EvalSpec {
  metrics: string[];
  n: number;
  stats?: string;
  real?: string;
  inception?: string;
  /** Metric settings by the camelCase of their `biggan eval` flags, e.g. { "kidSubsetSize": 100 }. */
  settings?: Record<string, number | string>;
}

export interface SweepSpec {
  fixed: Setting;
  vary: VarySpec;
  seeds: number[];
  steps: number;
  eval: EvalSpec | null;
}

/**
 * The train options a spec may set: the model and recipe flags (train/run/train-flags.ts)
 * but seed and steps, which the sweep sets per trial. Run-level options (out, resume,
 * threads, evaluation, callbacks) belong to the sweep, not to a setting.
 */
const SWEEP_OWNED: ReadonlySet<string> = new Set<keyof TrainFlagOptions>(['seed', 'steps']);
const SETTABLE: ReadonlySet<string> = new Set(TRAIN_FLAGS.map((f) => f.option as string).filter((o) => !SWEEP_OWNED.has(o)));
/** Options whose value is a pair: a vary dimension may set one element ("betas.0"). */
const PAIR_OPTIONS: ReadonlySet<string> = new Set(TRAIN_FLAGS.filter((f) => f.kind.kind === 'betas').map((f) => f.option as string));
const EVAL_METRICS: ReadonlySet<string> = new Set(['is', 'fid', 'kid', 'pr', 'dc', 'ifid']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

function checkKeys(o: Record<string, unknown>, allowed: string[], where: string): void {
  const bad = Object.keys(o).filter((k) => !allowed.includes(k));
  if (bad.length) throw new UserError(`${where}: unknown field ${bad[0]} (expected ${allowed.join(', ')})`);
}

function finite(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`${where} must be a number, got ${show(v)}`);
  return v;
}

function posInt(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new UserError(`${where} must be a positive integer, got ${show(v)}`);
  return v;
}

/** An option assignment target: a settable option or "pair.i" (an element of a pair option). */
function checkTarget(t: unknown, where: string): string {
  if (typeof t !== 'string') throw new UserError(`${where} must be an option name, got ${show(t)}`);
  const m = /^(\w+)\.([01])$/.exec(t);
  if (m ? !PAIR_OPTIONS.has(m[1]) : !SETTABLE.has(t)) throw new UserError(`${where}: ${t} is not a train option a sweep can set`);
  return t;
}

function checkSetting(v: unknown, where: string): Setting {
  if (!isObject(v)) throw new UserError(`${where} must be an object of train options, got ${show(v)}`);
  for (const [k, x] of Object.entries(v)) {
    if (!SETTABLE.has(k)) throw new UserError(`${where}.${k} is not a train option a sweep can set (run options such as out, seed, steps, threads belong to the sweep)`);
    if (x === null || typeof x === 'object' && !Array.isArray(x)) throw new UserError(`${where}.${k} must be a number, string, boolean or list, got ${show(x)}`);
  }
  return v as Setting;
}

function parseVary(v: unknown): VarySpec {
  if (!isObject(v)) throw new UserError(`vary must be an object with grid or random, got ${show(v)}`);
  checkKeys(v, ['grid', 'random', 'bayes'], 'vary');
  if ([v.grid, v.random, v.bayes].filter((x) => x !== undefined).length !== 1) throw new UserError('vary must have exactly one of grid, random, bayes');
  if (v.bayes !== undefined) return parseBayes(v.bayes);
  if (v.grid !== undefined) {
    const g = v.grid;
    if (!isObject(g) || Object.keys(g).length === 0) throw new UserError(`vary.grid must be a non-empty object of dimensions, got ${show(g)}`);
    const dims = Object.entries(g).map(([name, list]) => {
      const where = `vary.grid.${name}`;
      if (!Array.isArray(list) || list.length === 0) throw new UserError(`${where} must be a non-empty list of values`);
      const values = list.map((x, i) => (SETTABLE.has(name) ? checkSetting({ [name]: x }, where) : checkSetting(x, `${where}[${i}]`)));
      return { name, values };
    });
    return { kind: 'grid', dims };
  }
  const r = v.random;
  if (!isObject(r)) throw new UserError(`vary.random must be an object, got ${show(r)}`);
  checkKeys(r, ['trials', 'seed', 'ranges'], 'vary.random');
  const trials = posInt(r.trials, 'vary.random.trials');
  const seed = r.seed === undefined ? 0 : finite(r.seed, 'vary.random.seed');
  if (!Number.isInteger(seed) || seed < 0) throw new UserError(`vary.random.seed must be a non-negative integer, got ${seed}`);
  if (!isObject(r.ranges) || Object.keys(r.ranges).length === 0) throw new UserError('vary.random.ranges must be a non-empty object');
  const dims = Object.entries(r.ranges).map(([name, d]) => ({ name, dim: parseRandomDim(d, `vary.random.ranges.${name}`, name) }));
  return { kind: 'random', trials, seed, dims };
}

/** Sequential Bayesian optimisation (GP-UCB): `rounds` rounds of `proposals` settings over `ranges`. */
function parseBayes(b: unknown): VarySpec {
  if (!isObject(b)) throw new UserError(`vary.bayes must be an object, got ${show(b)}`);
  checkKeys(b, ['rounds', 'proposals', 'seed', 'candidates', 'ranges'], 'vary.bayes');
  const rounds = posInt(b.rounds, 'vary.bayes.rounds');
  const proposals = posInt(b.proposals, 'vary.bayes.proposals');
  const candidates = b.candidates === undefined ? 2000 : posInt(b.candidates, 'vary.bayes.candidates');
  const seed = b.seed === undefined ? 0 : finite(b.seed, 'vary.bayes.seed');
  if (!Number.isInteger(seed) || seed < 0) throw new UserError(`vary.bayes.seed must be a non-negative integer, got ${seed}`);
  if (!isObject(b.ranges) || Object.keys(b.ranges).length === 0) throw new UserError('vary.bayes.ranges must be a non-empty object');
  const dims = Object.entries(b.ranges).map(([name, d]) => ({ name, dim: parseRandomDim(d, `vary.bayes.ranges.${name}`, name) }));
  return { kind: 'bayes', rounds, proposals, seed, candidates, dims };
}

function parseRandomDim(d: unknown, where: string, name: string): RandomDim {
  if (!isObject(d)) throw new UserError(`${where} must be an object ({min, max[, scale]} or {choices}), got ${show(d)}`);
  const setsRaw = d.sets ?? [name];
  if (!Array.isArray(setsRaw) || setsRaw.length === 0) throw new UserError(`${where}.sets must be a non-empty list of option names`);
  const sets = setsRaw.map((t, i) => checkTarget(t, `${where}.sets[${i}]`));
  if (d.choices !== undefined) {
    checkKeys(d, ['choices', 'sets'], where);
    if (!Array.isArray(d.choices) || d.choices.length === 0) throw new UserError(`${where}.choices must be a non-empty list`);
    return { kind: 'choices', choices: d.choices as Json[], sets };
  }
  checkKeys(d, ['min', 'max', 'scale', 'integer', 'sets'], where);
  const min = finite(d.min, `${where}.min`);
  const max = finite(d.max, `${where}.max`);
  if (!(min < max)) throw new UserError(`${where}: min (${min}) must be below max (${max})`);
  const scale = d.scale ?? 'linear';
  if (scale !== 'linear' && scale !== 'log') throw new UserError(`${where}.scale must be linear or log, got ${show(scale)}`);
  if (scale === 'log' && !(min > 0)) throw new UserError(`${where}: a log scale needs min > 0, got ${min}`);
  if (d.integer !== undefined && typeof d.integer !== 'boolean') throw new UserError(`${where}.integer must be true or false`);
  return { kind: 'range', min, max, scale, integer: d.integer === true, sets };
}

function parseEval(v: unknown, base: string): EvalSpec | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw new UserError(`eval must be an object, got ${show(v)}`);
  checkKeys(v, ['metrics', 'n', 'stats', 'real', 'inception', 'settings'], 'eval');
  const metrics = v.metrics ?? ['fid'];
  if (!Array.isArray(metrics) || metrics.length === 0) throw new UserError('eval.metrics must be a non-empty list');
  metrics.forEach((m, i) => {
    if (typeof m !== 'string' || !EVAL_METRICS.has(m)) throw new UserError(`eval.metrics[${i}] must be one of ${[...EVAL_METRICS].join(', ')}, got ${show(m)}`);
  });
  const n = posInt(v.n, 'eval.n');
  const file = (k: 'stats' | 'real' | 'inception'): string | undefined => {
    const x = v[k];
    if (x === undefined) return undefined;
    if (typeof x !== 'string' || !x) throw new UserError(`eval.${k} must be a file path, got ${show(x)}`);
    if (k === 'inception' && x === 'procedural') return x;
    return k === 'real' ? resolveDataSpec(x, base) : path.resolve(base, x);
  };
  const e: EvalSpec = { metrics: metrics as string[], n, stats: file('stats'), real: file('real'), inception: file('inception') };
  if (v.settings !== undefined) {
    if (!isObject(v.settings)) throw new UserError(`eval.settings must be an object of metric settings, got ${show(v.settings)}`);
    for (const [k, x] of Object.entries(v.settings)) {
      if (typeof x !== 'number' && typeof x !== 'string') throw new UserError(`eval.settings.${k} must be a number or string, got ${show(x)}`);
    }
    e.settings = v.settings as Record<string, number | string>;
  }
  if ((metrics.includes('fid') || metrics.includes('ifid')) && !e.stats && !e.real) throw new UserError('eval: fid needs eval.stats (a .npz from `biggan fid-stats`) or eval.real (reference images)');
  if (metrics.some((m) => m === 'kid' || m === 'pr' || m === 'dc' || m === 'ifid') && !e.real) throw new UserError('eval: kid, pr, dc and ifid need eval.real (reference images)');
  return e;
}

/** Validates a parsed spec; `base` resolves its relative paths. */
export function parseSpec(v: unknown, base: string): SweepSpec {
  if (!isObject(v)) throw new UserError(`a sweep spec must be a JSON object, got ${show(v)}`);
  checkKeys(v, ['fixed', 'vary', 'seeds', 'steps', 'eval', 'description'], 'spec');
  if (v.description !== undefined && typeof v.description !== 'string') throw new UserError(`description must be a string, got ${show(v.description)}`);
  const fixed = checkSetting(v.fixed ?? {}, 'fixed');
  if (typeof fixed.data === 'string') fixed.data = resolveDataSpec(fixed.data, base);
  const vary = parseVary(v.vary);
  const seedsRaw = v.seeds ?? [0];
  if (!Array.isArray(seedsRaw) || seedsRaw.length === 0) throw new UserError('seeds must be a non-empty list of integers');
  const seeds = seedsRaw.map((s, i) => {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) throw new UserError(`seeds[${i}] must be a non-negative integer, got ${show(s)}`);
    return s;
  });
  if (new Set(seeds).size !== seeds.length) throw new UserError('seeds must not repeat');
  const steps = posInt(v.steps, 'steps');
  const ev = parseEval(v.eval, base);
  if (vary.kind === 'bayes' && !ev?.metrics.includes('fid')) throw new UserError('vary.bayes minimises FID: eval.metrics must include fid');
  return { fixed, vary, seeds, steps, eval: ev };
}

/** Reads and validates SPEC.json. */
export function readSpec(file: string): SweepSpec {
  if (!fs.existsSync(file)) throw new UserError(`${file} does not exist`);
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  try {
    return parseSpec(v, path.dirname(path.resolve(file)));
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${file}: ${err.message}`);
    throw err;
  }
}
