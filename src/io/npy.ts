/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0).
 *
 * Layout: magic "\x93NUMPY", major, minor, header length (u16 for 1.0, u32 for
 * 2.0/3.0), a Python dict literal {'descr', 'fortran_order', 'shape'} padded with
 * spaces and a newline, then the raw array data. We parse the literal with a tiny
 * dedicated parser instead of anything eval-like.
 */
import { UserError, showValue } from '../errors.js';
import type { DType, NdArray } from './ndarray.js';
import { numel } from './ndarray.js';
import { ITEM_SIZE, arrayProblem, bytesOf, typedFromBytes } from './dtype-bytes.js';
import { readFileForUser } from './read-file.js';
import { writeFileAtomic } from './atomic-write.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** descr (without byte-order char) -> dtype. '<f2' is kept raw as float16 bits. */
const DESCR_TO_DTYPE: Record<string, DType> = {
  f4: 'float32', f8: 'float64', i8: 'int64', i4: 'int32', u1: 'uint8', b1: 'bool', f2: 'float16',
};
const DTYPE_TO_DESCR: Partial<Record<DType, string>> = {
  float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1', bool: '|b1', float16: '<f2',
};

type PyLit = string | number | boolean | null | PyLit[] | { [k: string]: PyLit };

/** Nesting beyond this is refused (real headers nest at most a few levels: structured dtypes). */
const MAX_HEADER_DEPTH = 64;
const ATOM = /True|False|None|-?\d+L?/y;

/** Parser for the small subset of Python literals an .npy header can contain. */
class HeaderParser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly src: string, private readonly name: string) {}

  private fail(what: string): never {
    throw new UserError(`${this.name} is not a valid .npy file (header: ${what} at offset ${this.pos})`);
  }
  private ws(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }
  parseTop(): PyLit {
    const v = this.value();
    this.ws();
    if (this.pos !== this.src.length) this.fail('unexpected trailing text');
    return v;
  }
  private value(): PyLit {
    this.ws();
    const c = this.src[this.pos];
    if (c === '{' || c === '(' || c === '[') {
      if (++this.depth > MAX_HEADER_DEPTH) this.fail(`nested more than ${MAX_HEADER_DEPTH} levels deep`);
      const v = c === '{' ? this.dict() : this.seq(c === '(' ? ')' : ']');
      this.depth--;
      return v;
    }
    if (c === "'" || c === '"') return this.str();
    ATOM.lastIndex = this.pos;
    const m = ATOM.exec(this.src);
    if (!m) this.fail('unexpected token');
    this.pos += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    const n = Number(m[0].replace('L', ''));
    if (!Number.isSafeInteger(n)) this.fail('integer out of range');
    return n;
  }
  private str(): string {
    const q = this.src[this.pos++];
    let out = '';
    while (this.pos < this.src.length && this.src[this.pos] !== q) {
      if (this.src[this.pos] === '\\') this.pos++; // numpy never escapes, but tolerate \' etc.
      out += this.src[this.pos++];
    }
    if (this.pos >= this.src.length) this.fail('unterminated string');
    this.pos++;
    return out;
  }
  private seq(close: string): PyLit[] {
    this.pos++;
    const out: PyLit[] = [];
    for (;;) {
      this.ws();
      if (this.src[this.pos] === close) { this.pos++; return out; }
      out.push(this.value());
      this.ws();
      if (this.src[this.pos] === ',') this.pos++;
      else if (this.src[this.pos] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }
  private dict(): { [k: string]: PyLit } {
    this.pos++;
    const out: { [k: string]: PyLit } = Object.create(null) as { [k: string]: PyLit };
    for (;;) {
      this.ws();
      if (this.src[this.pos] === '}') { this.pos++; return out; }
      const k = this.value();
      if (typeof k !== 'string') this.fail('dict key is not a string');
      this.ws();
      if (this.src[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      out[k] = this.value();
      this.ws();
      if (this.src[this.pos] === ',') this.pos++;
      else if (this.src[this.pos] !== '}') this.fail("expected ',' or '}'");
    }
  }
}

/** Maps a numpy descr string to our dtype, with a precise message for what we refuse. */
function dtypeFromDescr(descr: PyLit, name: string): DType {
  if (typeof descr !== 'string') {
    throw new UserError(`${name}: structured/record arrays are not supported (descr ${showValue(descr)})`);
  }
  const order = descr[0] ?? '';
  const body = '<>|='.includes(order) ? descr.slice(1) : descr;
  if (body === 'O') throw new UserError(`${name}: object arrays (dtype 'O') are not supported: they need pickle`);
  // '|' (not applicable) and '=' (native; little-endian on every supported host) are fine.
  const dt = Object.hasOwn(DESCR_TO_DTYPE, body) ? DESCR_TO_DTYPE[body] : undefined;
  if (order === '>' && ITEM_SIZE[dt ?? 'uint8'] > 1) {
    throw new UserError(`${name}: big-endian arrays (dtype '${descr}') are not supported; save with little-endian dtype`);
  }
  if (!dt) throw new UserError(`${name}: unsupported dtype '${descr}' (supported: <f4 <f8 <f2 <i8 <i4 |u1 |b1)`);
  return dt;
}

/** Parses .npy bytes. Data is a zero-copy view of `buf` when aligned (do not reuse `buf`). */
export function parseNpy(buf: Uint8Array, name: string): NdArray {
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) {
    throw new UserError(`${name} is not a .npy file (missing \\x93NUMPY magic)`);
  }
  const major = buf[6]!;
  const minor = buf[7]!;
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = buf[8]! | (buf[9]! << 8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new UserError(`${name} is truncated (.npy header incomplete)`);
    headerLen = (buf[8]! | (buf[9]! << 8) | (buf[10]! << 16)) + buf[11]! * 0x1000000;
    headerStart = 12;
  } else {
    throw new UserError(`${name}: unsupported .npy format version ${major}.${minor}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.length) throw new UserError(`${name} is truncated (.npy header incomplete)`);
  // 1.0/2.0 headers are latin1, 3.0 allows utf8 (only matters for structured field names).
  const headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(headerStart, dataStart));
  const header = new HeaderParser(headerText.trim(), name).parseTop();
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new UserError(`${name} is not a valid .npy file (header is not a dict)`);
  }
  const { descr, fortran_order: fortran, shape } = header;
  if (descr === undefined || fortran === undefined || shape === undefined) {
    throw new UserError(`${name} is not a valid .npy file (header lacks descr/fortran_order/shape)`);
  }
  const dtype = dtypeFromDescr(descr, name);
  if (fortran !== false) {
    throw new UserError(`${name}: Fortran-order arrays are not supported; save a C-contiguous array (np.ascontiguousarray)`);
  }
  if (!Array.isArray(shape) || shape.length > 64 || shape.some((d) => typeof d !== 'number' || d < 0)) {
    throw new UserError(`${name} is not a valid .npy file (bad shape ${showValue(shape)})`);
  }
  const dims = shape as number[];
  const count = numel(dims);
  const need = count * ITEM_SIZE[dtype];
  if (!Number.isSafeInteger(need) || dataStart + need > buf.length) {
    throw new UserError(
      `${name} is truncated (shape [${dims.join(', ')}] ${dtype} needs ${need} data bytes, file has ${buf.length - dataStart})`,
    );
  }
  return { dtype, shape: dims, data: typedFromBytes(dtype, buf, dataStart, count) };
}

/** Reads a .npy file. */
export function readNpy(file: string): NdArray {
  return parseNpy(readFileForUser(file), file);
}

/** The header dict exactly as NumPy writes it, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 128), }". */
function headerDict(descr: string, shape: readonly number[]): string {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  return `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
}

/** The .npy header bytes (magic through padding) for `arr`; the raw data follows it. */
function npyHeader(arr: NdArray, name: string): Uint8Array {
  const problem = arrayProblem(arr);
  if (problem) throw new UserError(`cannot write ${name} as .npy: ${problem}`);
  const descr = DTYPE_TO_DESCR[arr.dtype];
  if (!descr) throw new UserError(`cannot write ${name} as .npy: dtype ${arr.dtype} has no NumPy equivalent`);
  const dict = headerDict(descr, arr.shape);
  // Version 1.0 has a u16 header length; fall back to 2.0 (u32) for huge shapes.
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = prefix === 10 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (prefix === 10) dv.setUint16(8, headerLen, true);
  else dv.setUint32(8, headerLen, true);
  const text = dict + ' '.repeat(headerLen - dict.length - 1) + '\n';
  for (let i = 0; i < text.length; i++) out[prefix + i] = text.charCodeAt(i);
  return out;
}

/**
 * Serialises an array as .npy (version 1.0 unless the header needs 2.0), byte
 * for byte like numpy.save: header padded with spaces and '\n' so the data starts
 * on a 64-byte boundary.
 */
export function formatNpy(arr: NdArray, name = 'array'): Uint8Array {
  const header = npyHeader(arr, name);
  const data = bytesOf(arr.data);
  const out = new Uint8Array(header.byteLength + data.byteLength);
  out.set(header, 0);
  out.set(data, header.byteLength);
  return out;
}

/** Writes a .npy file atomically (temp file + fsync + rename), without concatenating header and data. */
export function writeNpy(file: string, arr: NdArray): void {
  writeFileAtomic(file, [npyHeader(arr, file), bytesOf(arr.data)]);
}
