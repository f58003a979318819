/**
 * A training run's data: the data spec made absolute (a run resumes from any working
 * directory), the resolution the data comes in, the prepared dataset of --data or the
 * embedded synthetic one, and what identifies it in checkpoints.
 */
import fs from 'node:fs';
import { UserError } from '../../errors.js';
import { openDataset, type PreparedDataset, readPreparedHeader } from '../../data/prepared-dataset.js';
import { isCifar10BatchFile, looksLikeCifar10 } from '../../data/sources/cifar10.js';
import { resolveDataSpec } from '../../data/sources/npy.js';
import { syntheticDataset } from '../../data/synthetic.js';
import { architecture } from '../../models/architectures.js';
import type { TrainConfig, TrainFlags } from './config.js';
import type { TrainRunOptions } from './run-options.js';
import type { TrainingMeta } from './train-checkpoint.js';

/**
 * A fresh run's flags with --data absolute and, without --resolution, the data's own
 * resolution where it has one the architecture has (said in a note either way).
 */
export function withDataSpec(flags: TrainFlags, resuming: boolean, note: (line: string) => void): TrainFlags {
  if (!flags.data) return flags;
  // absolute paths, so a run resumes from any working directory
  flags = { ...flags, data: resolveDataSpec(flags.data, process.cwd()) };
  if (resuming || flags.resolution !== undefined) return flags;
  const native = nativeResolution(flags.data!);
  const arch = architecture(flags.arch ?? 'biggan', '--arch');
  if (native && arch.resolutions.includes(native)) {
    note(`--resolution ${native} (the data's own)`);
    return { ...flags, resolution: native };
  }
  if (native) note(`--resolution ${arch.defaultResolution} (${arch.name} has no ${native}x${native}; the data's images are resized)`);
  return flags;
}

/** The run's data: the prepared dataset of --data, or the embedded synthetic one. */
export async function openRunDataset(c: TrainConfig, opts: TrainRunOptions, note: (line: string) => void): Promise<PreparedDataset> {
  if (c.data === null) {
    const s = c.synthetic;
    note(`no --data: training on the embedded synthetic dataset (${s.numClasses} classes of shape and colour, ${s.count} images, ${c.resolution}x${c.resolution})`);
    return syntheticDataset({ numClasses: s.numClasses, count: s.count, resolution: c.resolution, seed: s.seed });
  }
  if (!fs.existsSync(c.data.replace(/:[^:]*\.npy$/i, ''))) throw new UserError(`--data ${c.data} does not exist`);
  const onProgress = opts.phase ? (done: number, total: number) => opts.phase!({ what: 'preparing data', done, total, step: 0 }) : undefined;
  // a class-less folder trains an unconditional model; a one-class conditional one would only carry a dead class input
  const requireClasses = c.unconditional ? undefined
    : 'train it with --unconditional (or move the images into one sub-folder, <folder>/<class>/, for a one-class conditional model)';
  return openDataset(c.data, { resolution: c.resolution, skipBad: opts.skipBad, cache: opts.cache, log: note, onProgress, requireClasses });
}

/** The resolution a dataset comes in, where there is one: CIFAR-10 and its batches (32), a prepared .bgd file (its own). */
function nativeResolution(spec: string): number | undefined {
  if (/\.bgd$/i.test(spec) && fs.existsSync(spec)) return readPreparedHeader(spec).resolution;
  if (looksLikeCifar10(spec) || isCifar10BatchFile(spec)) return 32;
  return undefined;
}

/** What identifies the data's content (file list, sizes, mtimes); '' for in-memory data. */
export function dataFingerprint(ds: PreparedDataset): string {
  return ds.header.source.fingerprint;
}

/** The data as a checkpoint and the log's start record describe it. */
export function dataInfo(ds: PreparedDataset): TrainingMeta['data'] {
  const h = ds.header;
  return { kind: h.source.kind, source: h.source.path, count: ds.count, fingerprint: dataFingerprint(ds) };
}
