/**
 * FID statistics files: `.npz` archives with arrays `mu` [d] and `sigma`
 * [d, d]. pytorch-fid writes them with np.savez_compressed(mu=, sigma=) and
 * BigGAN-PyTorch's `<dataset>_inception_moments.npz` uses the same two keys,
 * so one reader serves both (float32 or float64; extra arrays are ignored).
 * We write float64, uncompressed (np.load reads either).
 */
import { readNpz, writeNpz } from '../io/npz.js';
import { statsFromArrays } from './feature-matrix.js';
import { type GaussianStats, checkGaussianStats } from './gaussian-stats.js';

/** Reads and validates `mu`/`sigma` from a pytorch-fid or BigGAN-PyTorch .npz. */
export function readStatsFile(file: string): GaussianStats {
  return statsFromArrays(readNpz(file), file);
}

/** Writes `mu` (float64 [d]) and `sigma` (float64 [d, d]). */
export function writeStatsFile(file: string, stats: GaussianStats): void {
  checkGaussianStats(stats, `statistics for ${file}`);
  const d = stats.mu.length;
  writeNpz(file, {
    mu: { dtype: 'float64', shape: [d], data: stats.mu },
    sigma: { dtype: 'float64', shape: [d, d], data: stats.sigma.data },
  });
}
