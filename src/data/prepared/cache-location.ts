/**
 * Where a prepared dataset's cache file lives. By default the user cache
 * directory's `data/` folder (cache-dir.ts: `$BIGGAN_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/biggan-ts`, else `~/.cache/biggan-ts`; for `/d/flowers` that is
 * `~/.cache/biggan-ts/data/flowers-folder-128px-<hash>.bgd`), never the dataset's own
 * folder (it may be read-only or shared); if that folder cannot be created or
 * written, the OS temp dir's `biggan-ts-cache/data/` is used instead. An explicit
 * `cache` names a file (or an existing folder to put the default name in). The
 * name's hash covers the source's absolute path, so datasets of the same name do
 * not collide.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { cacheRoot } from '../../cache-dir.js';
import { AtomicStreamWriter } from '../../io/atomic-stream-writer.js';
import type { ImageSource } from '../sources/types.js';
import type { PrepareOptions } from './prepare-options.js';
import { PREPROCESSING } from './prepare.js';

/** The default cache file name for a source at a resolution. */
function cacheFileName(source: ImageSource, opts: PrepareOptions): string {
  const base = path.basename(source.location).replace(/\.npy$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'data';
  const key = JSON.stringify([source.kind, source.location, opts.resolution, opts.limit ?? null, !!opts.includeTest, PREPROCESSING]);
  const hash = crypto.createHash('sha256').update(key).digest('hex').slice(0, 12);
  return `${base}-${source.kind}-${opts.resolution}px-${hash}.bgd`;
}

/** The folder the default cache goes in (the user cache directory's data/), and the temp-dir fallback. */
export function defaultCacheDirs(): { primary: string; fallback: string } {
  return {
    primary: path.join(cacheRoot(), 'data'),
    fallback: path.join(os.tmpdir(), 'biggan-ts-cache', 'data'),
  };
}

function explicitCacheFile(cache: string, name: string): string {
  const abs = path.resolve(cache);
  try {
    if (fs.statSync(abs).isDirectory()) return path.join(abs, name);
  } catch { /* not there yet: a file path */ }
  if (cache.endsWith('/') || cache.endsWith(path.sep)) return path.join(abs, name);
  return abs;
}

/** The cache files to look for, in order: the explicit one, else the user cache directory's and the temp dir's. */
export function cacheCandidates(source: ImageSource, opts: PrepareOptions): string[] {
  const name = cacheFileName(source, opts);
  if (opts.cache !== undefined) return [explicitCacheFile(opts.cache, name)];
  const dirs = defaultCacheDirs();
  return [path.join(dirs.primary, name), path.join(dirs.fallback, name)];
}

/** A writer for a new cache: the explicit path, else the user cache directory, else the temp dir. */
export function openCacheWriter(candidates: string[], explicit: boolean, log: (line: string) => void): AtomicStreamWriter {
  if (explicit) {
    try {
      return new AtomicStreamWriter(candidates[0]!);
    } catch (err) {
      throw new UserError(`cannot write the prepared-data cache ${candidates[0]}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  const dirs = defaultCacheDirs();
  try {
    return new AtomicStreamWriter(candidates[0]!);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? String(err);
    log(`cannot write a cache in ${dirs.primary} (${why}); using ${dirs.fallback}`);
    try {
      return new AtomicStreamWriter(candidates[1]!);
    } catch (err2) {
      throw new UserError(`cannot write the prepared-data cache in ${dirs.primary} or ${dirs.fallback}: ${(err2 as NodeJS.ErrnoException).code ?? String(err2)}`);
    }
  }
}
