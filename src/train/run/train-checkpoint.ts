/**
 * Training checkpoints: our checkpoint format (models/checkpoint.ts: safetensors +
 * JSON metadata) carrying everything an exact resume needs.
 *
 * Tensors
 *   G.<path>, D.<path>          every state-dict entry: weights, SN vectors and sigmas,
 *                               BN running statistics
 *   G_ema.<path>                the EMA generator as samplers should use it: EMA weights,
 *                               with the standing statistics in place of its BN running
 *                               statistics when they were gathered
 *   G_ema_running.<path>        (with standing statistics) the EMA's own running
 *                               statistics, which training continues from
 *   G_adam.<path>.exp_avg|exp_avg_sq|step, D_adam.<path>.*   Adam moments and step counts
 *   sigma_clamp.<path>.<j>      (--sigma-clamp) warm-start vectors of the clamp
 *   sv_monitor.<G|D>.<path>.<j> warm-start vectors of the singular-value monitor (float64)
 * Metadata
 *   format, version, G, D, class_names   (as every checkpoint of ours)
 *   training                    JSON TrainingMeta: step, config, data-loader position,
 *                               collapse-watch state, health, standing-statistics settings
 *
 * Random state needs no tensors: every draw is keyed by (seed, stream, step)
 * (latents.ts), and the data loader's position is in the metadata.
 */
import { UserError } from '../../errors.js';
import type { NdArray } from '../../io/ndarray.js';
import { readCheckpoint, saveCheckpoint, section } from '../../models/checkpoint.js';
import { loadStateDict } from '../../models/load-state.js';
import type { LoaderState } from '../../data/batch-loader.js';
import type { AdamState } from '../optimizer-state.js';
import { packageVersion } from '../../package-info.js';
import type { TrainConfig } from './config.js';
import type { WatchState } from './collapse-watch.js';
import type { RunModels } from './build-models.js';

export interface TrainingMeta {
  /** Iterations done. */
  step: number;
  config: TrainConfig;
  loader: LoaderState;
  watch: WatchState;
  /** No collapse signal had been raised when this checkpoint was written. */
  healthy: boolean;
  /** How G_ema's BN statistics were set (null: the EMA's running statistics). */
  standing: { passes: number; batch: number } | null;
  data: { kind: string; source: string; count: number; fingerprint?: string };
  /** Seconds spent training so far (all sessions). */
  elapsedSeconds: number;
  savedAt: string;
  package: string;
}

export interface TrainingSnapshot {
  meta: Omit<TrainingMeta, 'savedAt' | 'package'>;
  models: RunModels;
  gOptim: AdamState;
  dOptim: AdamState;
  /** G_ema path → standing statistic. */
  standing: Map<string, Float32Array> | null;
  classNames: readonly string[];
  extra?: [string, NdArray][];
}

const f32 = (shape: readonly number[], data: Float32Array): NdArray => ({ dtype: 'float32', shape: [...shape], data });

export function writeTrainingCheckpoint(file: string, s: TrainingSnapshot): void {
  const extra: [string, NdArray][] = [];
  for (const [path, p] of s.models.G_ema.namedParams()) {
    const standing = s.standing?.get(path);
    extra.push([`G_ema.${path}`, f32(p.shape, standing ?? p.data)]);
    if (standing) extra.push([`G_ema_running.${path}`, f32(p.shape, p.data)]);
  }
  extra.push(...s.gOptim.toTensors((p) => `G_adam.${p}`), ...s.dOptim.toTensors((p) => `D_adam.${p}`), ...(s.extra ?? []));
  const meta: TrainingMeta = { ...s.meta, savedAt: new Date().toISOString(), package: packageVersion() };
  saveCheckpoint(file, {
    G: s.models.G,
    D: s.models.D,
    classNames: [...s.classNames],
    extra,
    metadata: { training: JSON.stringify(meta) },
  });
}

export interface TrainingCheckpoint {
  meta: TrainingMeta;
  tensors: Map<string, NdArray>;
  classNames: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumOrNull = (v: unknown): boolean => v === null || isNum(v);

/**
 * What is wrong with the training metadata of a checkpoint (every field the resume
 * reads, by type and range; the config is checked by parseStoredConfig), or null.
 */
function trainingMetaProblem(m: unknown): string | null {
  if (!isObj(m)) return 'not an object';
  if (!isCount(m.step)) return 'step';
  if (!isObj(m.config)) return 'config';
  const l = m.loader;
  if (!isObj(l) || l.version !== 1 || !isCount(l.epoch) || !isCount(l.batch) || !isCount(l.batchSize) || !isCount(l.count)
    || typeof l.flip !== 'boolean' || !Array.isArray(l.epochRng) || l.epochRng.length !== 4 || !l.epochRng.every(isCount)) return 'loader';
  const w = m.watch;
  if (!isObj(w) || !Array.isArray(w.dLosses) || !w.dLosses.every(isNum) || !isNumOrNull(w.dLossLowest) || !isNumOrNull(w.bestDiversity)
    || !isNumOrNull(w.lastSampleStep) || !isObj(w.sigma)
    || !Object.values(w.sigma).every((h) => Array.isArray(h) && h.every((p) => Array.isArray(p) && p.length === 2 && p.every(isNum)))) return 'watch';
  if (typeof m.healthy !== 'boolean') return 'healthy';
  if (m.standing !== null && !(isObj(m.standing) && isCount(m.standing.passes) && isCount(m.standing.batch))) return 'standing';
  const d = m.data;
  if (!isObj(d) || typeof d.kind !== 'string' || typeof d.source !== 'string' || !isCount(d.count)
    || (d.fingerprint !== undefined && typeof d.fingerprint !== 'string')) return 'data';
  if (!isNum(m.elapsedSeconds) || m.elapsedSeconds < 0) return 'elapsedSeconds';
  return null;
}

export function readTrainingCheckpoint(file: string): TrainingCheckpoint {
  const ck = readCheckpoint(file);
  if (!ck) throw new UserError(`${file} is not a biggan-ts checkpoint`);
  if (ck.metadata.training === undefined) throw new UserError(`${file} holds no training state (it cannot be resumed)`);
  let meta: TrainingMeta;
  try {
    meta = JSON.parse(ck.metadata.training) as TrainingMeta;
  } catch {
    throw new UserError(`${file}: the training state in its metadata is not valid JSON`);
  }
  const problem = trainingMetaProblem(meta);
  if (problem) throw new UserError(`${file}: the training state is incomplete or damaged (${problem})`);
  return { meta, tensors: ck.tensors, classNames: ck.classNames ?? [] };
}

/** Loads weights, buffers, EMA and Adam state of a checkpoint into freshly built models. */
export function restoreTrainingState(ck: TrainingCheckpoint, source: string, models: RunModels, gOptim: AdamState, dOptim: AdamState): void {
  const t = ck.tensors;
  loadStateDict(models.G, section(t, 'G'), { source });
  loadStateDict(models.D, section(t, 'D'), { source });
  loadStateDict(models.G_ema, section(t, 'G_ema'), { source });
  const running = section(t, 'G_ema_running');
  if (running.size) {
    const params = new Map(models.G_ema.namedParams());
    for (const [path, a] of running) {
      const p = params.get(path);
      if (!p || !(a.data instanceof Float32Array) || a.data.length !== p.data.length) throw new UserError(`${source}: G_ema_running.${path} does not fit the model`);
      p.data = a.data;
    }
  }
  gOptim.loadTensors(section(t, 'G_adam'), `${source} (G optimizer)`);
  dOptim.loadTensors(section(t, 'D_adam'), `${source} (D optimizer)`);
}
