/**
 * Preparing a source into a cache file: every item decoded once, centre-cropped
 * along its long edge and AREA-resampled to the training resolution, streamed as
 * a .bgd file (bgd-format.ts) to a temporary name and renamed into place only
 * when complete, so a crash never leaves a partial cache under the final name.
 * Unreadable images stop the preparation (naming them) unless skipBad.
 */
import fs from 'node:fs';
import os from 'node:os';
import { UserError } from '../../errors.js';
import type { AtomicStreamWriter } from '../../io/atomic-stream-writer.js';
import { cropAndResize } from '../area-resize.js';
import { BadImageError } from '../decode.js';
import type { ImageSource } from '../sources/types.js';
import { FORMAT_VERSION, PREFIX_BYTES, type PreparedHeader, encodePrefix } from './bgd-format.js';
import type { PrepareOptions } from './prepare-options.js';
import { PreparedDataset } from './prepared-set.js';

/** Recorded in the header and the cache key: a cache made another way is prepared again. */
export const PREPROCESSING = 'center-crop-long-edge+area';
/** At most this many bad-file names are kept in the header. */
const MAX_SKIPPED_NAMES = 1000;
/** Bad files named in an error message. */
const MAX_LISTED = 10;

export function badFilesError(spec: string, bad: BadImageError[], total: number, listFile: string | null): UserError {
  const shown = bad.slice(0, MAX_LISTED).map((b) => b.file);
  const more = bad.length > MAX_LISTED ? ` and ${bad.length - MAX_LISTED} more${listFile ? ` (all listed in ${listFile})` : ''}` : '';
  return new UserError(
    `${bad.length} of ${total} images in ${spec} could not be read: ${shown.join(', ')}${more}; first error: ${bad[0]!.reason}. `
      + 'Fix or remove them, or pass skipBad (--skip-bad) to leave them out',
  );
}

/** Decodes, crops, resizes and streams every item of `source` into `writer`; returns the opened result. */
export async function prepareInto(
  writer: AtomicStreamWriter, source: ImageSource, spec: string, fingerprint: string, opts: PrepareOptions,
): Promise<PreparedDataset> {
  const log = opts.log ?? (() => {});
  const R = opts.resolution;
  const imageBytes = R * R * 3;
  const total = source.count;
  const concurrency = Math.max(1, opts.concurrency ?? Math.min(8, os.availableParallelism()));
  const chunk = Math.max(concurrency, Math.min(1024, Math.floor((128 << 20) / imageBytes)));
  const labels: number[] = [];
  const bad: BadImageError[] = [];
  let committed = false;
  try {
    writer.write(new Uint8Array(PREFIX_BYTES)); // placeholder, rewritten last
    for (let start = 0; start < total; start += chunk) {
      const end = Math.min(total, start + chunk);
      const results: (Uint8Array | BadImageError)[] = new Array(end - start);
      let next = start;
      const worker = async (): Promise<void> => {
        while (next < end) {
          const i = next++;
          try {
            const img = await source.load(i);
            results[i - start] = cropAndResize(img.data, img.width, img.height, 3, R);
          } catch (err) {
            if (!(err instanceof BadImageError)) throw err;
            results[i - start] = err;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, end - start) }, worker));
      for (let k = 0; k < results.length; k++) {
        const r = results[k]!;
        if (r instanceof BadImageError) {
          bad.push(r);
        } else if (bad.length === 0 || opts.skipBad) {
          writer.write(r);
          labels.push(source.label(start + k));
        }
      }
      opts.onProgress?.(end, total);
    }

    if (bad.length > 0 && !opts.skipBad) {
      let listFile: string | null = null;
      if (bad.length > MAX_LISTED) {
        listFile = writer.dest.replace(/\.bgd$/i, '') + '.bad-files.txt';
        try {
          fs.writeFileSync(listFile, bad.map((b) => `${b.file}\t${b.reason}\n`).join(''));
        } catch {
          listFile = null;
        }
      }
      throw badFilesError(spec, bad, total, listFile);
    }
    if (labels.length === 0) throw new UserError(`${spec}: none of its ${total} images could be read (first error: ${bad[0]?.reason ?? 'none'})`);
    if (bad.length > 0) {
      log(`skipped ${bad.length} unreadable of ${total} images in ${spec} (e.g. ${bad.slice(0, 3).map((b) => b.file).join(', ')})`);
    }

    const count = labels.length;
    const pixelsEnd = PREFIX_BYTES + count * imageBytes;
    const labelsOffset = Math.ceil(pixelsEnd / 8) * 8;
    writer.write(new Uint8Array(labelsOffset - pixelsEnd));
    const labelArr = Int32Array.from(labels);
    writer.write(new Uint8Array(labelArr.buffer));
    const header: PreparedHeader = {
      format: 'biggan-prepared-dataset', version: FORMAT_VERSION, resolution: R, channels: 3, layout: 'NHWC', dtype: 'uint8',
      count, classNames: [...source.classNames], ...(source.classless ? { classless: true } : {}),
      pixelsOffset: PREFIX_BYTES, labelsOffset, preprocessing: PREPROCESSING,
      source: { kind: source.kind, path: source.location, fingerprint, files: source.fileCount, items: total },
      skipped: {
        count: bad.length,
        files: bad.slice(0, MAX_SKIPPED_NAMES).map((b) => b.file),
        ...(bad.length > 0 ? { firstReason: bad[0]!.reason } : {}),
      },
      createdAt: new Date().toISOString(),
    };
    const headerOffset = writer.position;
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    writer.write(json);
    writer.writeAt(encodePrefix(headerOffset, json.length), 0);
    writer.commit();
    committed = true;
  } catch (err) {
    if (!committed) writer.abort();
    if (err instanceof UserError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e.code === 'string') throw new UserError(`cannot write ${writer.dest}: ${e.code}`);
    throw err;
  }
  const ds = PreparedDataset.open(writer.dest, opts.memoryLimit);
  log(`prepared ${ds.count} images at ${R}px into ${writer.dest}`);
  return ds;
}
