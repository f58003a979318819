/**
 * Opening the training data named by a `--data` spec: a valid prepared cache of
 * the source is reused, else the source is prepared into one first
 * (prepared/prepare.ts). The parts:
 *   prepared/bgd-format.ts       the .bgd file format (prefix, JSON header, validation)
 *   prepared/prepared-set.ts     PreparedDataset: an opened .bgd file or in-memory set
 *   prepared/cache-location.ts   where caches live and what they are named
 *   prepared/prepare.ts          decoding, cropping, resizing and writing a source
 * The header records the source's path and fingerprint (file list, sizes,
 * mtimes); a cache whose fingerprint no longer matches is prepared again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { BadImageError } from './decode.js';
import { openImageSource } from './sources/index.js';
import type { ImageSource } from './sources/types.js';
import { type PreparedHeader, readPreparedHeader } from './prepared/bgd-format.js';
import { cacheCandidates, openCacheWriter } from './prepared/cache-location.js';
import type { PrepareOptions } from './prepared/prepare-options.js';
import { PREPROCESSING, badFilesError, prepareInto } from './prepared/prepare.js';
import { PreparedDataset } from './prepared/prepared-set.js';

export { PreparedDataset } from './prepared/prepared-set.js';
export { readPreparedHeader, type PreparedHeader } from './prepared/bgd-format.js';
export { defaultCacheDirs } from './prepared/cache-location.js';
export type { PrepareOptions } from './prepared/prepare-options.js';

/** Why an existing cache header does not fit this source, or null when it does. */
function mismatch(h: PreparedHeader, source: ImageSource, fingerprint: string, resolution: number): string | null {
  if (h.resolution !== resolution) return `it is ${h.resolution}px, ${resolution}px wanted`;
  if (h.preprocessing !== PREPROCESSING) return 'it was preprocessed differently';
  if (h.source.kind !== source.kind || h.source.path !== source.location) return `it was made from ${h.source.path}`;
  if (h.source.fingerprint !== fingerprint) return 'the source files changed since';
  return null;
}

function classlessError(spec: string, advice: string): UserError {
  return new UserError(`${spec} is a class-less image set (its images sit directly in the folder, no class sub-folders): ${advice}`);
}

/**
 * Opens the training data named by `spec` at `opts.resolution`: reuses a valid
 * prepared cache, or prepares one (decode, crop, AREA-resize, write) first. A
 * `spec` ending in .bgd opens that prepared file directly.
 */
export async function openDataset(spec: string, opts: PrepareOptions): Promise<PreparedDataset> {
  const log = opts.log ?? (() => {});
  const R = opts.resolution;
  if (!Number.isInteger(R) || R < 1 || R > 8192) throw new UserError(`resolution must be an integer in [1, 8192], got ${R}`);
  if (/\.bgd$/i.test(spec)) {
    const ds = PreparedDataset.open(path.resolve(spec), opts.memoryLimit);
    if (ds.resolution !== R) {
      ds.close();
      throw new UserError(`${spec} holds ${ds.resolution}px images, but the resolution is ${R}`);
    }
    ds.reused = true;
    if (ds.classless && opts.requireClasses !== undefined) {
      ds.close();
      throw classlessError(spec, opts.requireClasses);
    }
    return ds;
  }
  const source = openImageSource(spec, { limit: opts.limit, includeTest: opts.includeTest });
  try {
    if (source.classless && opts.requireClasses !== undefined) throw classlessError(spec, opts.requireClasses);
    const fingerprint = source.fingerprint();
    const candidates = cacheCandidates(source, opts);

    if (!opts.rebuild) {
      for (const file of candidates) {
        if (!fs.existsSync(file)) continue;
        let header: PreparedHeader;
        try {
          header = readPreparedHeader(file);
        } catch (err) {
          log(`cache ${file} is unusable (${err instanceof Error ? err.message : String(err)}); preparing again`);
          continue;
        }
        const why = mismatch(header, source, fingerprint, R);
        if (why) {
          log(`cache ${file} is stale (${why}); preparing again`);
          continue;
        }
        if (header.skipped.count > 0 && !opts.skipBad) {
          const bad = header.skipped.files.map((f) => new BadImageError(f, header.skipped.firstReason ?? 'unreadable'));
          throw badFilesError(spec, bad.length > 0 ? bad : [new BadImageError('?', 'unreadable')], header.source.items, null);
        }
        const ds = PreparedDataset.open(file, opts.memoryLimit);
        ds.reused = true;
        log(`using prepared data ${file} (${ds.count} images, ${R}px${ds.skipped ? `, ${ds.skipped} unreadable skipped` : ''})`);
        return ds;
      }
    }

    const writer = openCacheWriter(candidates, opts.cache !== undefined, log);
    return await prepareInto(writer, source, spec, fingerprint, opts);
  } finally {
    source.close();
  }
}
