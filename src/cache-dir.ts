/**
 * The user cache directory of biggan-ts: `$BIGGAN_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/biggan-ts`, else `~/.cache/biggan-ts`. Optimized generator graphs
 * live at its top level (sample/graph-cache.ts), prepared training data under `data/`
 * (data/prepared-dataset.ts): never beside the user's files, which may be read-only
 * or shared.
 */
import os from 'node:os';
import path from 'node:path';

export function cacheRoot(): string {
  if (process.env.BIGGAN_CACHE_DIR) return path.resolve(process.env.BIGGAN_CACHE_DIR);
  const xdg = process.env.XDG_CACHE_HOME;
  // XDG: a relative XDG_CACHE_HOME is invalid and ignored
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, 'biggan-ts');
}
