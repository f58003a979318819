/**
 * FID statistics files: `.npz` archives with arrays `mu` [d] and `sigma`
 * [d, d]. pytorch-fid writes them with np.savez_compressed(mu=, sigma=) and
 * BigGAN-PyTorch's `<dataset>_inception_moments.npz` uses the same two keys,
 * so one reader serves both (float32 or float64; extra arrays are ignored).
 * We write float64, uncompressed (np.load reads either).
 */
import { UserError } from '../errors.js';
import { type NdArray, shapeToString } from '../io/ndarray.js';
import { readNpz, writeNpz } from '../io/npz.js';
import { matrix } from '../linalg/matrix.js';
import { float64Data } from './feature-matrix.js';
import { type GaussianStats, checkGaussianStats } from './gaussian-stats.js';

/** Reads and validates `mu`/`sigma` from a pytorch-fid or BigGAN-PyTorch .npz. */
export function readStatsFile(file: string): GaussianStats {
  return statsFromArrays(readNpz(file), file);
}

/** Validates `mu`/`sigma` taken from already-loaded arrays; `what` names the source in errors. */
export function statsFromArrays(arrays: Map<string, NdArray>, what: string): GaussianStats {
  const mu = arrays.get('mu'), sigma = arrays.get('sigma');
  if (!mu || !sigma) {
    const found = [...arrays.keys()].map((k) => `'${k}'`).join(', ') || 'no arrays';
    throw new UserError(`${what} is not an FID statistics file: expected arrays 'mu' and 'sigma', found ${found}`);
  }
  if (mu.shape.length !== 1) throw new UserError(`${what}: 'mu' must be 1-D, got shape ${shapeToString(mu.shape)}`);
  if (sigma.shape.length !== 2) throw new UserError(`${what}: 'sigma' must be 2-D, got shape ${shapeToString(sigma.shape)}`);
  const [r, c] = sigma.shape as [number, number];
  if (r !== c) throw new UserError(`${what}: 'sigma' must be square, got shape ${shapeToString(sigma.shape)}`);
  const d = mu.shape[0]!;
  if (d !== r) throw new UserError(`${what}: 'mu' has ${d} entries but 'sigma' is ${r}x${c}`);
  if (d === 0) throw new UserError(`${what}: statistics are empty (dimension 0)`);
  const stats = {
    mu: float64Data(mu, `${what}: 'mu'`).slice(),
    sigma: matrix(d, d, float64Data(sigma, `${what}: 'sigma'`).slice()),
  };
  return checkGaussianStats(stats, what);
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
