/**
 * Inception pool3 statistics of a dataset (`biggan fid-stats --data`), as an
 * exact accumulator (FeatureStats) ready for a pytorch-fid .npz or a shard.
 *
 * Without a resolution the images are scored at their native size, as
 * pytorch-fid scores a folder (the Inception pipeline resizes each to 299).
 * With a resolution they first go through the training data loader
 * (data/prepared-dataset.ts: centre crop + area resize, cached), which is what
 * BigGAN-PyTorch's inception moments describe: the images the model was
 * trained to imitate.
 */
import { openDataset } from '../data/prepared-dataset.js';
import type { FeatureStats } from '../metrics/feature-stats.js';
import type { InceptionFeatureExtractor } from '../metrics/inception/feature-extractor.js';
import { collectFeatures } from './feature-collector.js';
import { type ImageInput, PreparedInput, imageBatches, openImageInput } from './image-input.js';

export interface DataStatsOptions {
  /** Score through the training loader at this resolution (crop + area resize). */
  resolution?: number;
  /** Prepared-data cache file or folder (with `resolution`). */
  cache?: string;
  /** Use only the first `limit` images. */
  limit?: number;
  batch?: number;
  skipBad?: boolean;
  onStart?: (total: number) => void;
  onProgress?: (done: number) => void;
  /** One-line notes (cache use, skipped files). */
  log?: (line: string) => void;
}

export interface DataStats {
  stats: FeatureStats;
  count: number;
  skipped: number;
  source: { path: string; kind: string; resolution?: number };
}

export async function computeDataStats(extractor: InceptionFeatureExtractor, spec: string, opts: DataStatsOptions = {}): Promise<DataStats> {
  let input: ImageInput;
  let skipped = 0;
  if (opts.resolution !== undefined) {
    const ds = await openDataset(spec, {
      resolution: opts.resolution,
      cache: opts.cache,
      skipBad: opts.skipBad,
      limit: opts.limit,
      log: opts.log,
    });
    skipped = ds.skipped;
    input = new PreparedInput(ds, ds.file ?? spec, { limit: opts.limit });
  } else {
    input = openImageInput(spec, { limit: opts.limit });
  }
  try {
    opts.onStart?.(input.count);
    const collected = await collectFeatures(extractor, imageBatches(input, opts.batch ?? 16, {
      skipBad: opts.skipBad,
      onSkip: (name, reason) => {
        skipped++;
        opts.log?.(`skipped unreadable image ${name}: ${reason}`);
      },
    }), { onProgress: opts.onProgress });
    return {
      stats: collected.stats,
      count: collected.count,
      skipped,
      source: { path: input.location, kind: input.kind, ...(opts.resolution !== undefined ? { resolution: opts.resolution } : {}) },
    };
  } finally {
    input.close();
  }
}
