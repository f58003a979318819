/**
 * PyTorch checkpoints written by torch.save, in both container formats:
 *
 * - zip (torch >= 1.6): `<stem>/data.pkl` (the object pickle), `<stem>/data/<key>`
 *   (raw little-endian storage bytes, stored uncompressed and 64-byte aligned),
 *   `<stem>/version`, optionally `<stem>/byteorder`. The whole file is read once
 *   and tensor data are zero-copy slices of it where alignment allows.
 * - legacy (torch < 1.6): pickles back to back (magic number, protocol 1001, sys
 *   info, the object, the list of storage keys), then per storage key an 8-byte
 *   little-endian element count followed by the raw data.
 *
 * Tensors come out as NdArray. Zero-copy arrays share memory with the file buffer
 * and, when torch tensors shared a storage, with each other: copy before mutating.
 */
import { UserError, showValue } from '../errors.js';
import type { DType, NdArray } from './ndarray.js';
import { numel } from './ndarray.js';
import { allocTyped, typedFromBytes } from './dtype-bytes.js';
import { PyDict, PyGlobal, TensorRef, unpickle } from './pickle.js';
import { readFileForUser } from './read-file.js';
import { ZipReader, looksLikeZip } from './zip.js';

/** torch storage class -> element size and our dtype (null: a dtype NdArray cannot hold). */
const STORAGE_TYPES: Record<string, { itemSize: number; dtype: DType | null }> = {
  FloatStorage: { itemSize: 4, dtype: 'float32' },
  DoubleStorage: { itemSize: 8, dtype: 'float64' },
  HalfStorage: { itemSize: 2, dtype: 'float16' },
  BFloat16Storage: { itemSize: 2, dtype: 'bfloat16' },
  LongStorage: { itemSize: 8, dtype: 'int64' },
  IntStorage: { itemSize: 4, dtype: 'int32' },
  ByteStorage: { itemSize: 1, dtype: 'uint8' },
  BoolStorage: { itemSize: 1, dtype: 'bool' },
  ShortStorage: { itemSize: 2, dtype: null },
  CharStorage: { itemSize: 1, dtype: null },
  ComplexFloatStorage: { itemSize: 8, dtype: null },
  ComplexDoubleStorage: { itemSize: 16, dtype: null },
  QInt8Storage: { itemSize: 1, dtype: null },
  QUInt8Storage: { itemSize: 1, dtype: null },
  QInt32Storage: { itemSize: 4, dtype: null },
};

/** The legacy magic number 0x1950a86a20f9469cfc6c, which is the first pickle of a legacy file. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;
/** How torch.save (pickle protocol 2) writes that magic: PROTO 2, LONG1 10 bytes, little-endian digits. */
const LEGACY_PREFIX = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/** What a persistent id resolves to: one storage (or, legacy, a view into one at an element offset). */
class StorageHandle {
  constructor(
    readonly key: string,
    readonly typeName: string,
    readonly itemSize: number,
    readonly dtype: DType | null,
    readonly elementOffset: number,
  ) {}
}

const corrupt = (name: string, why: string): never => {
  throw new UserError(`${name} is truncated or corrupt (${why})`);
};

/** Parses the ('storage', storage_type, key, location, numel[, view_metadata]) persistent id. */
function storageFromPid(pid: unknown, name: string, legacy: boolean): StorageHandle {
  if (!Array.isArray(pid) || pid.length < 5) return corrupt(name, 'malformed persistent id');
  if (pid[0] === 'module') {
    throw new UserError(`refusing to load ${name}: it pickles a whole nn.Module (with source code), not a state dict`);
  }
  if (pid[0] !== 'storage') return corrupt(name, `unknown persistent id kind ${showValue(pid[0])}`);
  const [, type, key, , , view] = pid;
  if (!(type instanceof PyGlobal) || (typeof key !== 'string' && typeof key !== 'number')) {
    return corrupt(name, 'malformed storage persistent id');
  }
  const info = STORAGE_TYPES[type.name];
  if (!info) throw new UserError(`${name}: unsupported storage type ${type.qualname}`);
  let elementOffset = 0;
  if (legacy && view !== undefined && view !== null) {
    // Legacy views: (view_key, offset_in_elements, view_size) into the root storage `key`.
    if (!Array.isArray(view) || !Number.isSafeInteger(view[1]) || (view[1] as number) < 0) return corrupt(name, 'malformed storage view');
    elementOffset = view[1] as number;
  }
  return new StorageHandle(String(key), type.qualname, info.itemSize, info.dtype, elementOffset);
}

/** Unsigned views used to copy elements bit-exactly (8-byte items go as pairs of u32, no NaN canonicalising). */
function wordView(bytes: Uint8Array, itemSize: number): { words: Uint8Array | Uint16Array | Uint32Array; per: number } {
  const wordSize = itemSize >= 4 ? 4 : itemSize;
  let b = bytes;
  // Copy (new Uint8Array, not .slice(): Buffer.slice would alias) when misaligned.
  if (b.byteOffset % wordSize !== 0) b = new Uint8Array(b);
  const n = b.byteLength / wordSize;
  const words = wordSize === 1 ? new Uint8Array(b.buffer, b.byteOffset, n)
    : wordSize === 2 ? new Uint16Array(b.buffer, b.byteOffset, n)
      : new Uint32Array(b.buffer, b.byteOffset, n);
  return { words, per: itemSize / wordSize };
}

/**
 * Bytes that gathering non-contiguous views may allocate, in all, for a file of
 * `fileBytes`: a crafted file can point many broadcast (stride-0) views at one
 * storage, each far larger than the file.
 */
function gatherBudget(fileBytes: number): { left: number } {
  return { left: 4 * fileBytes + (64 << 20) };
}

/** A storage's bytes, copied once to an 8-byte-aligned buffer when they are not aligned (views are then zero-copy). */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
}

/** Builds the NdArray for a tensor view: zero-copy when contiguous (and aligned), gathered otherwise. */
function materialise(t: TensorRef, storageBytes: (h: StorageHandle) => Uint8Array, name: string, budget: { left: number }): NdArray {
  const h = t.storage;
  if (!(h instanceof StorageHandle)) return corrupt(name, 'tensor without a storage');
  if (!h.dtype) throw new UserError(`${name}: tensor stored as ${h.typeName} has a dtype this tool does not support`);
  const dtype = h.dtype;
  const bytes = storageBytes(h);
  if (bytes.byteLength % h.itemSize !== 0) return corrupt(name, `storage ${h.key} is not a whole number of ${h.typeName} elements`);
  const storageNumel = bytes.byteLength / h.itemSize;
  const shape = [...t.size];
  const count = numel(shape);
  const offset = h.elementOffset + t.storageOffset;
  if (count === 0) return { dtype, shape, data: allocTyped(dtype, 0) };

  let contiguous = true;
  let expected = 1;
  let maxIndex = offset;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && t.stride[d] !== expected) contiguous = false;
    expected *= shape[d]!;
    maxIndex += (shape[d]! - 1) * t.stride[d]!;
  }
  if (maxIndex >= storageNumel) {
    return corrupt(name, `tensor view [${shape.join(', ')}] at offset ${offset} exceeds storage ${h.key} of ${storageNumel} elements`);
  }
  if (contiguous) return { dtype, shape, data: typedFromBytes(dtype, bytes, offset * h.itemSize, count) };

  // Non-contiguous view (e.g. a saved transpose or slice): gather into a fresh C-order array.
  const outBytes = count * h.itemSize;
  if (!Number.isSafeInteger(outBytes) || outBytes > budget.left) {
    return corrupt(name, `tensor view [${shape.join(', ')}] repeats storage ${h.key} into more data than the file could hold`);
  }
  budget.left -= outBytes;
  const { words: src, per } = wordView(bytes, h.itemSize);
  const out = allocTyped(dtype, count);
  const { words: dst } = wordView(new Uint8Array(out.buffer, out.byteOffset, out.byteLength), h.itemSize);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let srcElem = offset;
  for (let o = 0; o < count; o++) {
    const s = srcElem * per;
    const dpos = o * per;
    for (let w = 0; w < per; w++) dst[dpos + w] = src[s + w]!;
    // Odometer increment over the shape, updating the source element index incrementally.
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]!++;
      srcElem += t.stride[d]!;
      if (idx[d]! < shape[d]!) break;
      srcElem -= idx[d]! * t.stride[d]!;
      idx[d] = 0;
    }
  }
  return { dtype, shape, data: out };
}

/**
 * Replaces every TensorRef in an unpickled value by its NdArray. Containers are
 * updated in place (tuples, being frozen, are rebuilt); shared/cyclic references
 * are visited once.
 */
function replaceTensors(root: unknown, toArray: (t: TensorRef) => NdArray): unknown {
  const done = new Map<object, unknown>();
  const visit = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (done.has(v)) return done.get(v);
    if (v instanceof TensorRef) {
      const a = toArray(v);
      done.set(v, a);
      return a;
    }
    if (v instanceof Map) {
      done.set(v, v);
      for (const [k, x] of v) v.set(k, visit(x));
      if (v instanceof PyDict && v.attributes) visit(v.attributes);
      return v;
    }
    if (Array.isArray(v)) {
      if (!Object.isFrozen(v)) {
        done.set(v, v);
        for (let i = 0; i < v.length; i++) v[i] = visit(v[i]);
        return v;
      }
      const out: unknown[] = [];
      done.set(v, out);
      for (const x of v) out.push(visit(x));
      return Object.freeze(out);
    }
    if (v instanceof Set) {
      const out = new Set<unknown>();
      done.set(v, out);
      for (const x of v) out.add(visit(x));
      return out;
    }
    return v;
  };
  return visit(root);
}

/** Runs `fn`, turning a stack overflow from absurdly nested data into a UserError. */
function guardDepth<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError && /call stack/i.test(err.message)) corrupt(name, 'data nested too deeply');
    throw err;
  }
}

function parseZipCheckpoint(buf: Uint8Array, name: string): unknown {
  const zip = new ZipReader(buf, name);
  const pkl = [...zip.entries.keys()].filter((e) => e === 'data.pkl' || e.endsWith('/data.pkl')).sort((a, b) => a.length - b.length)[0];
  if (pkl === undefined) {
    throw new UserError(`${name} is not a PyTorch checkpoint (zip archive without a data.pkl entry)`);
  }
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const order = zip.entries.has(`${prefix}byteorder`) ? new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim() : 'little';
  if (order !== 'little') throw new UserError(`${name}: big-endian checkpoints (byteorder=${order}) are not supported`);

  const handles = new Map<string, StorageHandle>();
  const value = unpickle(zip.read(pkl), {
    name,
    persistentLoad: (pid) => {
      const h = storageFromPid(pid, name, false);
      const prev = handles.get(h.key);
      if (prev && prev.typeName !== h.typeName) corrupt(name, `storage ${h.key} used with two types`);
      handles.set(h.key, h);
      return prev ?? h;
    },
  }).value;
  const cache = new Map<string, Uint8Array>();
  const bytesOf = (h: StorageHandle): Uint8Array => {
    let b = cache.get(h.key);
    if (!b) {
      const entry = `${prefix}data/${h.key}`;
      if (!zip.entries.has(entry)) corrupt(name, `storage data ${entry} missing`);
      b = aligned(zip.read(entry));
      cache.set(h.key, b);
    }
    return b;
  };
  const budget = gatherBudget(buf.length);
  return guardDepth(name, () => replaceTensors(value, (t) => materialise(t, bytesOf, name, budget)));
}

/**
 * Whether `buf` starts with a pickle of the legacy torch magic number. That pickle
 * is a few dozen bytes in any protocol, so only the file's head is parsed.
 */
function isLegacy(buf: Uint8Array): boolean {
  if (buf.length < 2 || buf[0] !== 0x80) return false;
  try {
    return unpickle(buf.subarray(0, 256), { name: '' }).value === LEGACY_MAGIC;
  } catch {
    return false;
  }
}

function parseLegacyCheckpoint(buf: Uint8Array, name: string): unknown {
  let pos = unpickle(buf, { name }).end; // magic, checked by isLegacy
  const proto = unpickle(buf, { name }, pos);
  pos = proto.end;
  if (proto.value !== LEGACY_PROTOCOL) throw new UserError(`${name}: unsupported legacy checkpoint protocol ${showValue(proto.value)}`);
  const sys = unpickle(buf, { name }, pos);
  pos = sys.end;
  if (sys.value instanceof Map && sys.value.get('little_endian') === false) {
    throw new UserError(`${name}: big-endian checkpoints are not supported`);
  }
  const roots = new Map<string, StorageHandle>();
  const main = unpickle(buf, {
    name,
    persistentLoad: (pid) => {
      const h = storageFromPid(pid, name, true);
      const prev = roots.get(h.key);
      if (prev && prev.typeName !== h.typeName) corrupt(name, `storage ${h.key} used with two types`);
      if (!prev) roots.set(h.key, h);
      return h;
    },
  }, pos);
  pos = main.end;
  const keysPickle = unpickle(buf, { name }, pos);
  pos = keysPickle.end;
  const keys = keysPickle.value;
  if (!Array.isArray(keys)) return corrupt(name, 'storage key list missing');

  // Raw storages follow in key order, each prefixed with its element count (int64 LE).
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const data = new Map<string, Uint8Array>();
  for (const k of keys) {
    if (typeof k !== 'string' && typeof k !== 'number') return corrupt(name, `storage key ${showValue(k)} is not a string`);
    const key = String(k);
    const h = roots.get(key);
    if (!h) return corrupt(name, `storage ${key} listed but never used`);
    if (pos + 8 > buf.length) return corrupt(name, `storage ${key} header past end of file`);
    const count = dv.getBigInt64(pos, true);
    const nbytes = Number(count) * h.itemSize;
    if (count < 0n || !Number.isSafeInteger(nbytes) || pos + 8 + nbytes > buf.length) {
      return corrupt(name, `storage ${key} needs ${count} elements, file ends first`);
    }
    data.set(key, aligned(buf.subarray(pos + 8, pos + 8 + nbytes)));
    pos += 8 + nbytes;
  }
  const bytesOf = (h: StorageHandle): Uint8Array => data.get(h.key) ?? corrupt(name, `storage ${h.key} has no data`);
  const budget = gatherBudget(buf.length);
  return guardDepth(name, () => replaceTensors(main.value, (t) => materialise(t, bytesOf, name, budget)));
}

/**
 * Parses a torch.save file held in memory. Returns the unpickled top-level value:
 * dicts as PyDict (a Map in insertion order), tensors as NdArray, lists as arrays,
 * tuples as frozen arrays, ints as number (bigint if huge), etc. (see pickle.ts).
 */
export function parseTorchFile(buf: Uint8Array, name: string): unknown {
  if (looksLikeZip(buf)) return parseZipCheckpoint(buf, name);
  if (isLegacy(buf)) return parseLegacyCheckpoint(buf, name);
  if (buf.length < LEGACY_PREFIX.length && buf.length > 0 && buf.every((b, i) => b === LEGACY_PREFIX[i])) {
    throw new UserError(`${name} is truncated or corrupt (file ends inside the legacy magic number)`);
  }
  throw new UserError(`${name} is not a PyTorch checkpoint (neither a torch zip archive nor a legacy torch.save file)`);
}

/** Reads a torch.save file (zip or legacy format); see parseTorchFile for the value mapping. */
export function readTorchFile(file: string): unknown {
  return parseTorchFile(readFileForUser(file), file);
}

const isTensor = (v: unknown): v is NdArray =>
  v !== null && typeof v === 'object' && 'dtype' in v && 'shape' in v && 'data' in v && ArrayBuffer.isView((v as NdArray).data);

/** The first entry of a dict that is not a str -> tensor pair, or null when it is a state dict. */
function nonTensorEntry(d: Map<unknown, unknown>): string | null {
  for (const [k, v] of d) {
    if (typeof k !== 'string') return `key ${showValue(k)} is not a string`;
    if (!isTensor(v)) return `entry ${k} is not a tensor`;
  }
  return null;
}

/** Container keys under which training scripts commonly nest the model's state dict. */
const NESTED_KEYS = ['state_dict', 'model', 'G'];

/**
 * Extracts a state dict (ordered name -> tensor) from an unpickled checkpoint.
 * Accepts a top-level dict of tensors; otherwise, if the top-level dict has
 * exactly one entry named 'state_dict', 'model' or 'G' that is a dict of
 * tensors, that entry is used (training checkpoints wrap the weights this way).
 */
export function stateDictFromValue(value: unknown, name: string): Map<string, NdArray> {
  if (!(value instanceof Map)) {
    const what = Array.isArray(value) ? 'a list/tuple' : value === null ? 'None' : typeof value;
    throw new UserError(`${name} does not contain a state dict (its top level is ${what}, not a dict of tensors)`);
  }
  const problem = nonTensorEntry(value);
  if (problem === null) return new Map(value as Map<string, NdArray>);
  const nested = NESTED_KEYS.filter((k) => value.get(k) instanceof Map && nonTensorEntry(value.get(k) as Map<unknown, unknown>) === null);
  if (nested.length === 1) return new Map(value.get(nested[0]) as Map<string, NdArray>);
  if (nested.length > 1) {
    throw new UserError(`${name} holds several state dicts (${nested.join(', ')}); extract the one you want first`);
  }
  throw new UserError(`${name} does not contain a state dict of tensors (${problem})`);
}

/** Reads a torch.save file and returns its state dict, in file order (see stateDictFromValue). */
export function readTorchStateDict(file: string): Map<string, NdArray> {
  return stateDictFromValue(readTorchFile(file), file);
}
