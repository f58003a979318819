/**
 * Statistics files an evaluation reads and writes:
 *   - FID statistics (`mu`, `sigma`; pytorch-fid's and BigGAN-PyTorch's .npz);
 *   - shards: the exact float64 accumulator (count, Σx, Σxxᵀ; metrics/feature-stats.ts)
 *     plus `shard_meta` (UTF-8 JSON as uint8: pipeline, Inception weights hash,
 *     source), so independent jobs merge into exactly the statistics of the union.
 * Merging refuses shards made with different preprocessing or Inception weights:
 * their features are not comparable.
 */
import { UserError } from '../errors.js';
import { readNpz, writeNpz } from '../io/npz.js';
import type { NdArray } from '../io/ndarray.js';
import { FeatureStats } from '../metrics/feature-stats.js';
import type { GaussianStats } from '../metrics/gaussian-stats.js';
import { INCEPTION_POOL3_DIM } from '../metrics/inception/inception-v3.js';
import { statsFromArrays } from '../metrics/feature-matrix.js';

export interface ShardMeta {
  /** Inception input pipeline the features were computed with. */
  pipeline: string;
  /** SHA-256 of the Inception weights (see inception-source.ts). */
  inceptionSha256: string;
  /** What was featurised (data path, or generator + seed), one entry per merged shard. */
  sources: string[];
}

const META_KEY = 'shard_meta';

export function writeShard(file: string, stats: FeatureStats, meta: ShardMeta): void {
  const json = new TextEncoder().encode(JSON.stringify(meta));
  writeNpz(file, { ...stats.toArrays(), [META_KEY]: { dtype: 'uint8', shape: [json.length], data: json } });
}

export interface LoadedStats {
  stats: GaussianStats;
  /** Number of samples, when the file records it (shards). */
  count?: number;
  meta?: ShardMeta;
  kind: 'fid-stats' | 'shard';
}

function readMeta(arrays: Map<string, NdArray>, file: string): ShardMeta | undefined {
  const a = arrays.get(META_KEY);
  if (!a) return undefined;
  try {
    const m = JSON.parse(new TextDecoder().decode(a.data as Uint8Array)) as ShardMeta;
    if (typeof m.pipeline !== 'string' || typeof m.inceptionSha256 !== 'string' || !Array.isArray(m.sources)) throw new Error('fields');
    return m;
  } catch {
    throw new UserError(`${file}: '${META_KEY}' is damaged (not the JSON this tool writes)`);
  }
}

function isShard(arrays: Map<string, NdArray>): boolean {
  return arrays.has('feature_stats_version');
}

/** A shard file's accumulator and metadata; a mu/sigma-only file is refused (it has no sample count). */
export function readShard(file: string): { stats: FeatureStats; meta?: ShardMeta } {
  const arrays = readNpz(file);
  if (!isShard(arrays)) {
    if (arrays.has('mu') && arrays.has('sigma')) {
      throw new UserError(`${file} holds only mu/sigma, not a shard: statistics merge exactly only from shards (write them with --shard-out)`);
    }
    throw new UserError(`${file} is not a statistics shard (no feature_stats_version array)`);
  }
  return { stats: FeatureStats.fromArrays(arrays, file), meta: readMeta(arrays, file) };
}

/** Merges shard files in order; their pipelines and Inception weights must agree. */
export function mergeShards(files: readonly string[]): { stats: FeatureStats; meta?: ShardMeta } {
  if (files.length === 0) throw new UserError('nothing to merge: give shard files after --merge');
  let merged: FeatureStats | null = null;
  let meta: ShardMeta | undefined;
  let first = '';
  for (const file of files) {
    const s = readShard(file);
    if (!merged) {
      merged = s.stats;
      meta = s.meta && { ...s.meta, sources: [...s.meta.sources] };
      first = file;
      continue;
    }
    if (s.stats.dim !== merged.dim) throw new UserError(`cannot merge ${file} (${s.stats.dim}-d features) with ${first} (${merged.dim}-d)`);
    if (meta && s.meta) {
      if (s.meta.pipeline !== meta.pipeline) {
        throw new UserError(`cannot merge ${file} (pipeline ${s.meta.pipeline}) with ${first} (pipeline ${meta.pipeline}): their features differ`);
      }
      if (s.meta.inceptionSha256 !== meta.inceptionSha256) {
        throw new UserError(`cannot merge ${file} with ${first}: they were made with different Inception weights`);
      }
      meta.sources.push(...s.meta.sources);
    } else {
      meta = undefined; // an unlabelled shard: nothing left to check against
    }
    merged.merge(s.stats);
  }
  return { stats: merged!, meta };
}

/**
 * Reference statistics for FID from a pytorch-fid / BigGAN-PyTorch .npz or a
 * shard, checked to be Inception pool3 statistics (2048-d).
 */
export function readReferenceStats(file: string): LoadedStats {
  const arrays = readNpz(file);
  let loaded: LoadedStats;
  if (isShard(arrays)) {
    const acc = FeatureStats.fromArrays(arrays, file);
    loaded = { stats: acc.toMeanCov(file), count: acc.count, meta: readMeta(arrays, file), kind: 'shard' };
  } else {
    loaded = { stats: statsFromArrays(arrays, file), kind: 'fid-stats' };
  }
  const d = loaded.stats.mu.length;
  if (d !== INCEPTION_POOL3_DIM) {
    throw new UserError(
      `${file} holds ${d}-dimensional statistics, but FID here compares Inception pool3 features (${INCEPTION_POOL3_DIM}-d)` +
        ([64, 192, 768].includes(d) ? ` (it looks like pytorch-fid --dims ${d})` : ''),
    );
  }
  return loaded;
}
