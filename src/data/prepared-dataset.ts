/**
 * The prepared training set: every source image decoded once, centre-cropped
 * along its long edge and AREA-resampled to the training resolution, stored as
 * uint8 NHWC in one compact file that later runs open without decoding again.
 *
 * File layout (".bgd", all integers little-endian):
 *   0..7    magic "BGGNDATA"
 *   8..11   u32 format version (1)
 *   16..23  u64 offset of the JSON header
 *   24..31  u64 byte length of the JSON header
 *   64..    pixels: count x resolution x resolution x 3 bytes (NHWC, RGB)
 *   then    labels: count x int32, at header.labelsOffset (8-byte aligned)
 *   then    the JSON header (PreparedHeader), UTF-8
 * The file is streamed to a temporary name in the destination folder and renamed
 * into place only when complete (fsynced), so a crash never leaves a partial
 * cache under the final name; the fixed prefix is written last.
 *
 * Cache location: by default the user cache directory's `data/` folder
 * (cache-dir.ts: `$BIGGAN_CACHE_DIR`, else `$XDG_CACHE_HOME/biggan-ts`, else
 * `~/.cache/biggan-ts`; for `/d/flowers` that is
 * `~/.cache/biggan-ts/data/flowers-folder-128px-<hash>.bgd`), never the dataset's own
 * folder (it may be read-only or shared); if that folder cannot be created or
 * written, the OS temp dir's `biggan-ts-cache/data/` is used instead. `cache` names
 * an explicit file (or an existing folder to put the default name in). The name's
 * hash covers the source's absolute path, so datasets of the same name do not collide. The header records the source's
 * path and fingerprint (file list, sizes, mtimes); a cache whose fingerprint no
 * longer matches is prepared again.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../errors.js';
import { regularFileSize } from '../io/read-file.js';
import { cacheRoot } from '../cache-dir.js';
import { cropAndResize } from './area-resize.js';
import { BadImageError } from './decode.js';
import { openImageSource } from './sources/index.js';
import type { ImageSource } from './sources/types.js';

const MAGIC = 'BGGNDATA';
const FORMAT_VERSION = 1;
const PREFIX_BYTES = 64;
const PREPROCESSING = 'center-crop-long-edge+area';
/** Caches up to this many pixel bytes are read into memory; bigger ones are read per image from the file. */
const DEFAULT_MEMORY_LIMIT = 1 << 30;
/** At most this many bad-file names are kept in the header. */
const MAX_SKIPPED_NAMES = 1000;
/** Bad files named in an error message. */
const MAX_LISTED = 10;

export interface PreparedHeader {
  format: 'biggan-prepared-dataset';
  version: number;
  resolution: number;
  channels: 3;
  layout: 'NHWC';
  dtype: 'uint8';
  count: number;
  classNames: string[];
  pixelsOffset: number;
  labelsOffset: number;
  preprocessing: string;
  source: {
    kind: string;
    path: string;
    fingerprint: string;
    files: number;
    items: number;
  };
  skipped: { count: number; files: string[]; firstReason?: string };
  createdAt: string;
}

export interface PrepareOptions {
  /** Training resolution (square side in pixels). */
  resolution: number;
  /** Explicit cache file, or an existing folder to hold the default file name. Default: the user cache directory's `data/` (cache-dir.ts). */
  cache?: string;
  /** Leave out unreadable images (and report how many) instead of stopping. Default false. */
  skipBad?: boolean;
  /** Prepare again even when a valid cache exists. */
  rebuild?: boolean;
  /** Use only the first `limit` items of the source (in source order). */
  limit?: number;
  /** CIFAR-10: include test_batch.bin too. */
  includeTest?: boolean;
  /** Images decoded at the same time (default min(8, CPU count)). */
  concurrency?: number;
  /** Pixel bytes up to which an opened cache is held in memory (default 1 GiB). */
  memoryLimit?: number;
  /** Called as images are prepared. */
  onProgress?: (done: number, total: number) => void;
  /** One-line notes: cache reused/prepared, location fallback, skipped images. */
  log?: (line: string) => void;
}

/** A prepared dataset: uint8 NHWC images at one resolution plus int32 labels. */
export class PreparedDataset {
  readonly resolution: number;
  readonly count: number;
  readonly classNames: readonly string[];
  readonly labels: Int32Array;
  /** Bytes per image (resolution * resolution * 3). */
  readonly imageBytes: number;
  /** Whether this open reused an existing cache (false: it was prepared now, or built in memory). */
  reused = false;

  private constructor(
    readonly header: PreparedHeader,
    labels: Int32Array,
    private pixels: Uint8Array | null,
    private fd: number | null,
    /** The cache file, or null for an in-memory dataset. */
    readonly file: string | null,
  ) {
    this.resolution = header.resolution;
    this.count = header.count;
    this.classNames = header.classNames;
    this.labels = labels;
    this.imageBytes = header.resolution * header.resolution * 3;
  }

  get numClasses(): number {
    return this.classNames.length;
  }

  /** Images that were left out as unreadable when this set was prepared. */
  get skipped(): number {
    return this.header.skipped.count;
  }

  /**
   * Image i as HWC uint8 RGB. Without `out` the result may be a view into the
   * dataset's memory: read it, don't modify it.
   */
  readImage(i: number, out?: Uint8Array): Uint8Array {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) throw new RangeError(`image ${i} out of range [0, ${this.count})`);
    const n = this.imageBytes;
    if (out && out.length !== n) throw new RangeError(`output buffer has ${out.length} bytes, expected ${n}`);
    if (this.pixels) {
      const view = this.pixels.subarray(i * n, (i + 1) * n);
      if (!out) return view;
      out.set(view);
      return out;
    }
    if (this.fd === null) throw new Error('dataset is closed');
    const dst = out ?? new Uint8Array(n);
    readFully(this.fd, dst, this.header.pixelsOffset + i * n, this.file!);
    return dst;
  }

  close(): void {
    if (this.fd !== null) {
      try { fs.closeSync(this.fd); } catch { /* ignore */ }
      this.fd = null;
    }
    this.pixels = null;
  }

  /** Builds an in-memory dataset from uint8 NHWC images and labels (synthetic data, tests). */
  static fromArrays(args: {
    images: Uint8Array;
    labels: Int32Array;
    resolution: number;
    classNames: readonly string[];
    sourceKind?: string;
    sourcePath?: string;
  }): PreparedDataset {
    const { images, labels, resolution, classNames } = args;
    const n = labels.length;
    if (images.length !== n * resolution * resolution * 3) {
      throw new RangeError(`images have ${images.length} bytes, expected ${n} x ${resolution}x${resolution}x3`);
    }
    for (let i = 0; i < n; i++) {
      if (labels[i]! < 0 || labels[i]! >= classNames.length) throw new RangeError(`label ${labels[i]} at ${i} outside [0, ${classNames.length})`);
    }
    const header: PreparedHeader = {
      format: 'biggan-prepared-dataset', version: FORMAT_VERSION, resolution, channels: 3, layout: 'NHWC', dtype: 'uint8',
      count: n, classNames: [...classNames], pixelsOffset: 0, labelsOffset: 0, preprocessing: 'none',
      source: { kind: args.sourceKind ?? 'memory', path: args.sourcePath ?? '', fingerprint: '', files: 0, items: n },
      skipped: { count: 0, files: [] }, createdAt: new Date().toISOString(),
    };
    return new PreparedDataset(header, labels, images, null, null);
  }

  /** Opens a prepared (.bgd) file. A damaged or foreign file is a UserError naming it. */
  static open(file: string, memoryLimit = DEFAULT_MEMORY_LIMIT): PreparedDataset {
    const header = readPreparedHeader(file);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      throw new UserError(`cannot open ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
      const labelBytes = new Uint8Array(header.count * 4);
      readFully(fd, labelBytes, header.labelsOffset, file);
      const labels = new Int32Array(labelBytes.buffer, 0, header.count);
      for (let i = 0; i < labels.length; i++) {
        if (labels[i]! < 0 || labels[i]! >= header.classNames.length) throw new UserError(`${file} is damaged (label ${labels[i]} at ${i})`);
      }
      const pixelBytes = header.count * header.resolution * header.resolution * 3;
      if (pixelBytes <= memoryLimit) {
        const pixels = new Uint8Array(pixelBytes);
        readFully(fd, pixels, header.pixelsOffset, file);
        fs.closeSync(fd);
        return new PreparedDataset(header, labels, pixels, null, file);
      }
      return new PreparedDataset(header, labels, null, fd, file);
    } catch (err) {
      try { fs.closeSync(fd); } catch { /* ignore */ }
      throw err;
    }
  }
}

function readFully(fd: number, dst: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < dst.length) {
    const got = fs.readSync(fd, dst, done, dst.length - done, position + done);
    if (got === 0) throw new UserError(`${file} is truncated`);
    done += got;
  }
}

/**
 * What is wrong with a parsed .bgd header (every field's type and range, and the
 * pixel and label sections inside the bytes before the header at `hOff`), or null.
 */
function headerProblem(h: unknown, hOff: number): string | null {
  if (h === null || typeof h !== 'object' || Array.isArray(h)) return 'not a JSON object';
  const o = h as Record<string, unknown>;
  const isCount = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
  const isStr = (v: unknown): v is string => typeof v === 'string';
  if (o.format !== 'biggan-prepared-dataset' || o.channels !== 3 || o.layout !== 'NHWC' || o.dtype !== 'uint8') return 'format, channels, layout or dtype';
  if (!isCount(o.count, 1) || !isCount(o.resolution, 1) || o.resolution > 65536) return 'count or resolution';
  if (!Array.isArray(o.classNames) || o.classNames.length === 0 || !o.classNames.every(isStr)) return 'classNames';
  if (!isCount(o.pixelsOffset, PREFIX_BYTES) || !isCount(o.labelsOffset, 0)) return 'section offsets';
  const src = o.source as Record<string, unknown> | null;
  if (src === null || typeof src !== 'object' || !isStr(src.kind) || !isStr(src.path) || !isStr(src.fingerprint) || !isCount(src.items, 0)) return 'source';
  const sk = o.skipped as Record<string, unknown> | null;
  if (sk === null || typeof sk !== 'object' || !isCount(sk.count, 0) || !Array.isArray(sk.files) || !sk.files.every(isStr)
    || (sk.firstReason !== undefined && !isStr(sk.firstReason))) return 'skipped';
  const pixelBytes = o.count * o.resolution * o.resolution * 3;
  if (o.pixelsOffset + pixelBytes > o.labelsOffset || o.labelsOffset + 4 * o.count > hOff) return 'sections overlap or pass the end';
  return null;
}

/** Reads and validates a .bgd file's header; a missing/damaged/foreign file is a UserError naming it. */
export function readPreparedHeader(file: string): PreparedHeader {
  regularFileSize(file);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(e.code === 'ENOENT' ? `${file} does not exist` : `cannot open ${file}: ${e.code ?? e.message}`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const bad = (why: string): never => {
      throw new UserError(`${file} is not a valid prepared dataset (${why}); delete it to prepare again`);
    };
    if (size < PREFIX_BYTES) bad('too short');
    const prefix = new Uint8Array(PREFIX_BYTES);
    readFully(fd, prefix, 0, file);
    if (Buffer.from(prefix.subarray(0, 8)).toString('latin1') !== MAGIC) bad('wrong magic');
    const dv = new DataView(prefix.buffer);
    const version = dv.getUint32(8, true);
    if (version !== FORMAT_VERSION) bad(`format version ${version}, expected ${FORMAT_VERSION}`);
    const hOff = Number(dv.getBigUint64(16, true));
    const hLen = Number(dv.getBigUint64(24, true));
    if (hOff + hLen !== size || hLen === 0 || hLen > 1 << 28) bad('header out of range');
    const text = new Uint8Array(hLen);
    readFully(fd, text, hOff, file);
    let h: PreparedHeader;
    try {
      h = JSON.parse(Buffer.from(text).toString('utf8')) as PreparedHeader;
    } catch {
      return bad('header is not JSON');
    }
    const problem = headerProblem(h, hOff);
    if (problem) bad(`inconsistent header: ${problem}`);
    return h;
  } finally {
    fs.closeSync(fd);
  }
}

/** Streams a file to a temporary name beside `dest`, renamed over it on commit. */
class AtomicStreamWriter {
  private fd: number | null;
  private readonly tmp: string;
  private pos = 0;

  constructor(readonly dest: string) {
    const dir = path.dirname(dest);
    fs.mkdirSync(dir, { recursive: true });
    this.tmp = path.join(dir, `.${path.basename(dest)}.${process.pid}.${Date.now()}.${crypto.randomBytes(4).toString('hex')}.tmp`);
    this.fd = fs.openSync(this.tmp, 'wx', 0o644);
  }

  get position(): number {
    return this.pos;
  }

  write(bytes: Uint8Array): void {
    this.writeAt(bytes, this.pos);
    this.pos += bytes.length;
  }

  writeAt(bytes: Uint8Array, position: number): void {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd!, bytes, done, bytes.length - done, position + done);
  }

  commit(): void {
    fs.fsyncSync(this.fd!);
    fs.closeSync(this.fd!);
    this.fd = null;
    fs.renameSync(this.tmp, this.dest);
    try {
      const dfd = fs.openSync(path.dirname(this.dest), 'r');
      try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
    } catch { /* best effort */ }
  }

  abort(): void {
    if (this.fd !== null) {
      try { fs.closeSync(this.fd); } catch { /* ignore */ }
      this.fd = null;
    }
    try { fs.unlinkSync(this.tmp); } catch { /* ignore */ }
  }
}

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

/** Why an existing cache header does not fit this source, or null when it does. */
function mismatch(h: PreparedHeader, source: ImageSource, fingerprint: string, resolution: number): string | null {
  if (h.resolution !== resolution) return `it is ${h.resolution}px, ${resolution}px wanted`;
  if (h.preprocessing !== PREPROCESSING) return 'it was preprocessed differently';
  if (h.source.kind !== source.kind || h.source.path !== source.location) return `it was made from ${h.source.path}`;
  if (h.source.fingerprint !== fingerprint) return 'the source files changed since';
  return null;
}

function badFilesError(spec: string, bad: BadImageError[], total: number, listFile: string | null): UserError {
  const shown = bad.slice(0, MAX_LISTED).map((b) => b.file);
  const more = bad.length > MAX_LISTED ? ` and ${bad.length - MAX_LISTED} more${listFile ? ` (all listed in ${listFile})` : ''}` : '';
  return new UserError(
    `${bad.length} of ${total} images in ${spec} could not be read: ${shown.join(', ')}${more}; first error: ${bad[0]!.reason}. `
      + 'Fix or remove them, or pass skipBad (--skip-bad) to leave them out',
  );
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
    return ds;
  }
  const source = openImageSource(spec, { limit: opts.limit, includeTest: opts.includeTest });
  try {
    const fingerprint = source.fingerprint();
    const name = cacheFileName(source, opts);
    const dirs = defaultCacheDirs();
    const candidates = opts.cache !== undefined
      ? [explicitCacheFile(opts.cache, name)]
      : [path.join(dirs.primary, name), path.join(dirs.fallback, name)];

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

    // Pick where to write: the explicit path, else the user cache directory, else the temp dir.
    let writer: AtomicStreamWriter;
    if (opts.cache !== undefined) {
      try {
        writer = new AtomicStreamWriter(candidates[0]!);
      } catch (err) {
        throw new UserError(`cannot write the prepared-data cache ${candidates[0]}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    } else {
      try {
        writer = new AtomicStreamWriter(candidates[0]!);
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code ?? String(err);
        log(`cannot write a cache in ${dirs.primary} (${why}); using ${dirs.fallback}`);
        try {
          writer = new AtomicStreamWriter(candidates[1]!);
        } catch (err2) {
          throw new UserError(`cannot write the prepared-data cache in ${dirs.primary} or ${dirs.fallback}: ${(err2 as NodeJS.ErrnoException).code ?? String(err2)}`);
        }
      }
    }
    return await prepareInto(writer, source, spec, fingerprint, opts);
  } finally {
    source.close();
  }
}

/** Decodes, crops, resizes and streams every item of `source` into `writer`; returns the opened result. */
async function prepareInto(
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
      count, classNames: [...source.classNames], pixelsOffset: PREFIX_BYTES, labelsOffset, preprocessing: PREPROCESSING,
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
    const prefix = new Uint8Array(PREFIX_BYTES);
    prefix.set(Buffer.from(MAGIC, 'latin1'), 0);
    const dv = new DataView(prefix.buffer);
    dv.setUint32(8, FORMAT_VERSION, true);
    dv.setBigUint64(16, BigInt(headerOffset), true);
    dv.setBigUint64(24, BigInt(json.length), true);
    writer.writeAt(prefix, 0);
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
