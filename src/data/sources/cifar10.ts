/**
 * The CIFAR-10 "binary version" layout: a folder holding data_batch_1.bin ...
 * data_batch_N.bin (any N, read in numeric order), batches.meta.txt (class
 * names, line k = label k) and optionally test_batch.bin (included only with
 * includeTest). Each .bin is a sequence of 3073-byte records: one label byte,
 * then the 32x32 red, green and blue planes, row-major.
 *
 * The folder names the training split (the data batches). One batch file beside
 * batches.meta.txt names that batch alone: `DIR/test_batch.bin` is the 10,000-image
 * test split that the GAN-landscape study's FID compares against.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { readFileForUser } from '../../io/read-file.js';
import type { RgbImage } from '../decode.js';
import { fingerprintOf, statForFingerprint, type FileStat } from './fingerprint.js';
import { limitCount, type ImageSource, type SourceOptions } from './types.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;
const META = 'batches.meta.txt';
const BLOCK_RECORDS = 1024;

/** True when `dir` is a folder with the CIFAR-10 binary files (used to pick the source kind). */
export function looksLikeCifar10(dir: string): boolean {
  try {
    const names = fs.readdirSync(dir);
    return names.includes(META) && names.some((n) => /^data_batch_\d+\.bin$/.test(n));
  } catch {
    return false;
  }
}

/** True when `file` is a .bin file beside batches.meta.txt: one CIFAR-10 batch used on its own. */
export function isCifar10BatchFile(file: string): boolean {
  if (!/\.bin$/i.test(file)) return false;
  try {
    return fs.statSync(file).isFile() && fs.existsSync(path.join(path.dirname(file), META));
  } catch {
    return false;
  }
}

interface BatchFile {
  file: string;
  records: number;
  first: number; // index of its first record in the concatenation
}

export class Cifar10Source implements ImageSource {
  readonly kind = 'cifar10' as const;
  readonly location: string;
  readonly classNames: string[];
  readonly count: number;
  readonly fileCount: number;
  private readonly files: BatchFile[];
  private readonly stats: FileStat[];
  private readonly params: Record<string, string | number | boolean>;
  private labels: Uint8Array | null = null;
  private fds = new Map<string, number>();
  private block: { file: BatchFile; start: number; bytes: Uint8Array } | null = null;

  /** `spec`: a CIFAR-10 folder (its data batches, plus test_batch.bin with includeTest), or one batch file in such a folder. */
  constructor(spec: string, opts: SourceOptions = {}) {
    this.location = path.resolve(spec);
    const single = isCifar10BatchFile(spec);
    const dir = single ? path.dirname(this.location) : this.location;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UserError(e.code === 'ENOENT' ? `${spec} does not exist` : `cannot list ${spec}: ${e.code ?? e.message}`);
    }
    if (!names.includes(META)) {
      throw new UserError(`${spec} is not a CIFAR-10 binary folder: ${META} is missing (CIFAR-100's layout is not supported)`);
    }
    let batches: string[];
    if (single) {
      if (opts.includeTest) throw new UserError(`${spec} is one CIFAR-10 batch; including the test batch applies to a CIFAR-10 folder`);
      batches = [path.basename(this.location)];
    } else {
      batches = names
        .map((n) => /^data_batch_(\d+)\.bin$/.exec(n))
        .filter((m): m is RegExpExecArray => m !== null)
        .sort((a, b) => Number(a[1]) - Number(b[1]))
        .map((m) => m[0]);
      if (batches.length === 0) throw new UserError(`${spec} is not a CIFAR-10 binary folder: no data_batch_*.bin files`);
      if (opts.includeTest && names.includes('test_batch.bin')) batches.push('test_batch.bin');
    }

    const metaFile = path.join(dir, META);
    this.classNames = readFileForUser(metaFile).toString('utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
    if (this.classNames.length === 0) throw new UserError(`${metaFile} lists no class names`);

    this.stats = [statForFingerprint(metaFile, META)];
    this.files = [];
    let total = 0;
    for (const name of batches) {
      const file = path.join(dir, name);
      const st = statForFingerprint(file, name);
      if (st.size === 0 || st.size % RECORD !== 0) {
        throw new UserError(`${file} is not a CIFAR-10 batch: ${st.size} bytes is not a multiple of the ${RECORD}-byte record`);
      }
      this.stats.push(st);
      this.files.push({ file, records: st.size / RECORD, first: total });
      total += st.size / RECORD;
    }
    this.fileCount = this.stats.length;
    this.count = limitCount(total, opts.limit);
    this.params = { kind: this.kind, limit: opts.limit ?? 'all', includeTest: !!opts.includeTest };
  }

  private fileOf(i: number): BatchFile {
    if (!(i >= 0 && i < this.count)) throw new RangeError(`item ${i} out of range [0, ${this.count})`);
    for (const f of this.files) if (i < f.first + f.records) return f;
    throw new RangeError(`item ${i} out of range`);
  }

  private fd(file: string): number {
    let fd = this.fds.get(file);
    if (fd === undefined) {
      try {
        fd = fs.openSync(file, 'r');
      } catch (err) {
        throw new UserError(`cannot open ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      this.fds.set(file, fd);
    }
    return fd;
  }

  /** Reads `n` whole records of `f` starting at its record `start`. */
  private readRecords(f: BatchFile, start: number, n: number): Uint8Array {
    const bytes = new Uint8Array(n * RECORD);
    const fd = this.fd(f.file);
    let done = 0;
    while (done < bytes.length) {
      const got = fs.readSync(fd, bytes, done, bytes.length - done, start * RECORD + done);
      if (got === 0) throw new UserError(`${f.file} is truncated (changed while reading?)`);
      done += got;
    }
    return bytes;
  }

  private record(i: number): Uint8Array {
    const f = this.fileOf(i);
    const r = i - f.first;
    const b = this.block;
    if (!b || b.file !== f || r < b.start || r >= b.start + b.bytes.length / RECORD) {
      const start = Math.floor(r / BLOCK_RECORDS) * BLOCK_RECORDS;
      const end = Math.min(f.records, start + BLOCK_RECORDS, this.count - f.first);
      this.block = { file: f, start, bytes: this.readRecords(f, start, end - start) };
    }
    const off = (r - this.block!.start) * RECORD;
    return this.block!.bytes.subarray(off, off + RECORD);
  }

  label(i: number): number {
    if (!this.labels) {
      const labels = new Uint8Array(this.count);
      for (const f of this.files) {
        const n = Math.min(f.records, this.count - f.first);
        for (let s = 0; s < n; s += BLOCK_RECORDS) {
          const m = Math.min(BLOCK_RECORDS, n - s);
          const bytes = this.readRecords(f, s, m);
          for (let k = 0; k < m; k++) {
            const lab = bytes[k * RECORD]!;
            if (lab >= this.classNames.length) {
              throw new UserError(`${f.file} record ${s + k} has label ${lab}, but ${META} lists ${this.classNames.length} classes`);
            }
            labels[f.first + s + k] = lab;
          }
        }
        if (f.first + f.records >= this.count) break;
      }
      this.labels = labels;
    }
    return this.labels[i]!;
  }

  itemName(i: number): string {
    const f = this.fileOf(i);
    return `${f.file}#${i - f.first}`;
  }

  fingerprint(): string {
    return fingerprintOf(this.stats, this.params);
  }

  async load(i: number): Promise<RgbImage> {
    const rec = this.record(i);
    const data = new Uint8Array(PLANE * 3);
    for (let p = 0; p < PLANE; p++) {
      data[3 * p] = rec[1 + p]!;
      data[3 * p + 1] = rec[1 + PLANE + p]!;
      data[3 * p + 2] = rec[1 + 2 * PLANE + p]!;
    }
    return { data, width: SIDE, height: SIDE };
  }

  close(): void {
    for (const fd of this.fds.values()) {
      try { fs.closeSync(fd); } catch { /* ignore */ }
    }
    this.fds.clear();
    this.block = null;
  }
}
