/**
 * The prepared-dataset file format (".bgd", all integers little-endian):
 *   0..7    magic "BGGNDATA"
 *   8..11   u32 format version (1)
 *   16..23  u64 offset of the JSON header
 *   24..31  u64 byte length of the JSON header
 *   64..    pixels: count x resolution x resolution x 3 bytes (NHWC, RGB)
 *   then    labels: count x int32, at header.labelsOffset (8-byte aligned)
 *   then    the JSON header (PreparedHeader), UTF-8
 * Writers put the fixed prefix last (prepare.ts), so a file with a valid prefix is complete.
 */
import fs from 'node:fs';
import { UserError } from '../../errors.js';
import { regularFileSize } from '../../io/read-file.js';

const MAGIC = 'BGGNDATA';
export const FORMAT_VERSION = 1;
export const PREFIX_BYTES = 64;

export interface PreparedHeader {
  format: 'biggan-prepared-dataset';
  version: number;
  resolution: number;
  channels: 3;
  layout: 'NHWC';
  dtype: 'uint8';
  count: number;
  classNames: string[];
  /** True for a class-less image folder (its one class is no real class); absent in older files. */
  classless?: boolean;
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

/** Reads exactly dst.length bytes at `position`; a short file is a UserError naming it. */
export function readFully(fd: number, dst: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < dst.length) {
    const got = fs.readSync(fd, dst, done, dst.length - done, position + done);
    if (got === 0) throw new UserError(`${file} is truncated`);
    done += got;
  }
}

/** The fixed prefix pointing at a header of `headerLength` bytes at `headerOffset`. */
export function encodePrefix(headerOffset: number, headerLength: number): Uint8Array {
  const prefix = new Uint8Array(PREFIX_BYTES);
  prefix.set(Buffer.from(MAGIC, 'latin1'), 0);
  const dv = new DataView(prefix.buffer);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setBigUint64(16, BigInt(headerOffset), true);
  dv.setBigUint64(24, BigInt(headerLength), true);
  return prefix;
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
  if (o.classless !== undefined && (o.classless !== true || o.classNames.length !== 1)) return 'classless';
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
