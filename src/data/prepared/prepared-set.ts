/**
 * An opened prepared dataset: uint8 NHWC images at one resolution plus int32
 * labels, read from a .bgd file (bgd-format.ts) — held in memory up to a limit,
 * else read per image — or built in memory (synthetic data, tests).
 */
import fs from 'node:fs';
import { UserError } from '../../errors.js';
import { FORMAT_VERSION, type PreparedHeader, readFully, readPreparedHeader } from './bgd-format.js';

/** Caches up to this many pixel bytes are read into memory; bigger ones are read per image from the file. */
const DEFAULT_MEMORY_LIMIT = 1 << 30;

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

  /** True for a class-less image folder: every image has label 0, and that class means nothing. */
  get classless(): boolean {
    return this.header.classless === true;
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
