/**
 * safetensors files: 8-byte little-endian header length N, N bytes of JSON
 * ({"__metadata__": {str: str}, name: {dtype, shape, data_offsets: [begin, end]}, ...},
 * padded with spaces), then the raw little-endian data; offsets are relative to
 * the start of the data section. We validate the header completely before
 * touching data, because this format is what we accept from untrusted sources.
 */
import { UserError } from '../errors.js';
import type { DType, NdArray } from './ndarray.js';
import { ITEM_SIZE, arrayProblem, bytesOf, typedFromBytes } from './dtype-bytes.js';
import { readFileForUser } from './read-file.js';
import { writeFileAtomic } from './atomic-write.js';

const ST_TO_DTYPE: Record<string, DType> = {
  F32: 'float32', F64: 'float64', I64: 'int64', I32: 'int32', U8: 'uint8', BOOL: 'bool', F16: 'float16', BF16: 'bfloat16',
};
const DTYPE_TO_ST: Record<DType, string> = {
  float32: 'F32', float64: 'F64', int64: 'I64', int32: 'I32', uint8: 'U8', bool: 'BOOL', float16: 'F16', bfloat16: 'BF16',
};

/** Tensors with more dimensions are refused (numpy allows 64; torch 25). */
const MAX_DIMS = 64;
/** Headers beyond this are certainly not real (the reference implementation uses the same 100 MB cap). */
const MAX_HEADER = 100_000_000;

export interface SafetensorsContents {
  /** Tensors in header order. Data shares memory with the input buffer where aligned. */
  tensors: Map<string, NdArray>;
  metadata: Record<string, string>;
}

/**
 * Whether the buffer plausibly starts with a safetensors header (a sane length
 * prefix, then '{'). The length is not checked against the buffer size so that a
 * truncated file is still recognised and reported as truncated.
 */
export function looksLikeSafetensors(buf: Uint8Array): boolean {
  if (buf.length < 10) return false;
  const n = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(MAX_HEADER) && buf[8] === 0x7b; // '{'
}

/**
 * Top-level keys of a JSON object in source order, and duplicates. JSON.parse
 * cannot tell us either: JS objects move integer-like keys ("0", "1") to the
 * front and silently keep the last duplicate. Assumes `json` already parsed.
 */
function topLevelKeys(json: string): { keys: string[]; duplicate: string | null } {
  const keys: string[] = [];
  const seen = new Set<string>();
  let duplicate: string | null = null;
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === '\\') i++;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(json.slice(start, i + 1)) as string;
        if (seen.has(key) && duplicate === null) duplicate = key;
        seen.add(key);
        keys.push(key);
        expectKey = false;
      }
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return { keys, duplicate };
}

/** Parses safetensors bytes. `name` names the source in error messages. */
export function parseSafetensors(buf: Uint8Array, name: string): SafetensorsContents {
  const bad: (why: string) => never = (why) => {
    throw new UserError(`${name} is not a valid safetensors file (${why})`);
  };
  if (buf.length < 8) throw new UserError(`${name} is truncated or corrupt (safetensors: ${buf.length} bytes, no header length)`);
  const n64 = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) bad(`header length ${n64} is implausible`);
  const n = Number(n64);
  if (8 + n > buf.length) {
    throw new UserError(`${name} is truncated or corrupt (safetensors header needs ${n} bytes, file has ${buf.length - 8} after the length)`);
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(buf.subarray(8, 8 + n));
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    bad(`header is not valid JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) bad('header is not a JSON object');
  const h = header as Record<string, unknown>;
  const { keys, duplicate } = topLevelKeys(text);
  if (duplicate !== null) bad(`duplicate entry ${JSON.stringify(duplicate)} in header`);

  const metadata: Record<string, string> = {};
  const rawMeta = h['__metadata__'];
  if (rawMeta !== undefined) {
    if (rawMeta === null || typeof rawMeta !== 'object' || Array.isArray(rawMeta)) bad('__metadata__ is not an object');
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>)) {
      if (typeof v !== 'string') bad(`__metadata__.${k} is not a string`);
      metadata[k] = v as string;
    }
  }

  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  interface Spec { key: string; dtype: DType; shape: number[]; begin: number; end: number }
  const specs: Spec[] = [];
  for (const key of keys) {
    if (key === '__metadata__') continue;
    const info = h[key] as Record<string, unknown> | null;
    if (info === null || typeof info !== 'object' || Array.isArray(info)) bad(`entry ${JSON.stringify(key)} is not an object`);
    const { dtype: st, shape, data_offsets: offs } = info;
    if (typeof st !== 'string') bad(`entry ${JSON.stringify(key)} has no dtype`);
    const dtype = Object.hasOwn(ST_TO_DTYPE, st as string) ? ST_TO_DTYPE[st as string] : undefined;
    if (!dtype) {
      throw new UserError(`${name}: tensor ${key} has unsupported dtype ${String(st)} (supported: ${Object.keys(ST_TO_DTYPE).join(', ')})`);
    }
    if (!Array.isArray(shape) || shape.length > MAX_DIMS || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) bad(`entry ${JSON.stringify(key)} has an invalid shape`);
    if (!Array.isArray(offs) || offs.length !== 2 || offs.some((o) => !Number.isSafeInteger(o) || o < 0)) {
      bad(`entry ${JSON.stringify(key)} has invalid data_offsets`);
    }
    const dims = shape as number[];
    const [begin, end] = offs as [number, number];
    let count = 1;
    for (const d of dims) count *= d;
    if (end < begin || end - begin !== count * ITEM_SIZE[dtype]) {
      bad(`entry ${JSON.stringify(key)}: shape [${dims.join(', ')}] ${st} needs ${count * ITEM_SIZE[dtype]} bytes but data_offsets span ${end - begin}`);
    }
    if (end > dataLen) {
      throw new UserError(`${name} is truncated or corrupt (tensor ${key} ends at data byte ${end}, data section has ${dataLen})`);
    }
    specs.push({ key, dtype, shape: dims, begin, end });
  }
  // The data section must be tiled exactly: no overlaps (aliasing), no gaps (hidden payloads).
  const byStart = [...specs].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const s of byStart) {
    if (s.begin !== pos) bad(`tensor ${s.key} starts at data byte ${s.begin}, expected ${pos} (gap or overlap)`);
    pos = s.end;
  }
  if (pos !== dataLen) bad(`data section has ${dataLen - pos} bytes not covered by any tensor`);

  const tensors = new Map<string, NdArray>();
  for (const s of specs) {
    const count = (s.end - s.begin) / ITEM_SIZE[s.dtype];
    tensors.set(s.key, { dtype: s.dtype, shape: s.shape, data: typedFromBytes(s.dtype, buf, dataStart + s.begin, count) });
  }
  return { tensors, metadata };
}

/** Reads a safetensors file (path) or buffer. Tensor order is the header order. */
export function readSafetensors(source: string | Uint8Array, name?: string): SafetensorsContents {
  if (typeof source === 'string') return parseSafetensors(readFileForUser(source), name ?? source);
  return parseSafetensors(source, name ?? '<safetensors buffer>');
}

export type TensorList = Map<string, NdArray> | ReadonlyArray<readonly [string, NdArray]>;

/**
 * The header block (length prefix + JSON + space padding) for `entries`. JSON is
 * compact with `__metadata__` first and tensors in the given order; padding makes
 * 8 + N a multiple of 8 so the data section is 8-byte aligned.
 */
function headerBytes(entries: ReadonlyArray<readonly [string, NdArray]>, metadata: Record<string, string> | undefined, file: string): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined) {
    const meta = Object.entries(metadata);
    for (const [k, v] of meta) {
      if (typeof v !== 'string') throw new UserError(`cannot write ${file}: metadata ${k} is not a string`);
    }
    parts.push(`"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  const seen = new Set<string>();
  let offset = 0;
  for (const [key, arr] of entries) {
    if (key === '__metadata__') throw new UserError(`cannot write ${file}: tensor name __metadata__ is reserved`);
    if (seen.has(key)) throw new UserError(`cannot write ${file}: duplicate tensor name ${key}`);
    seen.add(key);
    const problem = arrayProblem(arr);
    if (problem) throw new UserError(`cannot write ${file}: tensor ${key}: ${problem}`);
    const end = offset + arr.data.byteLength;
    parts.push(`${JSON.stringify(key)}:{"dtype":"${DTYPE_TO_ST[arr.dtype]}","shape":[${arr.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** Serialises tensors to safetensors bytes in memory. */
export function formatSafetensors(tensors: TensorList, metadata?: Record<string, string>, name = '<safetensors buffer>'): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : tensors;
  const header = headerBytes(entries, metadata, name);
  let total = header.length;
  for (const [, a] of entries) total += a.data.byteLength;
  const out = new Uint8Array(total);
  out.set(header, 0);
  let p = header.length;
  for (const [, a] of entries) {
    out.set(bytesOf(a.data), p);
    p += a.data.byteLength;
  }
  return out;
}

/**
 * Writes tensors (ordered Map or [name, array] list) as safetensors, atomically:
 * temp file in the same directory, fsync, rename; nothing is left behind on failure.
 * `metadata` (string values) becomes `__metadata__`, written first when given.
 */
export function writeSafetensors(file: string, tensors: TensorList, metadata?: Record<string, string>): void {
  const entries = tensors instanceof Map ? [...tensors] : tensors;
  const header = headerBytes(entries, metadata, file); // validates before anything touches the disk
  writeFileAtomic(file, [header, ...entries.map(([, a]) => bytesOf(a.data))]);
}
