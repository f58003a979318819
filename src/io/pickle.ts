/**
 * A pickle *parser* for PyTorch checkpoints. It never executes anything: the
 * stack machine only builds plain JS values. GLOBAL/STACK_GLOBAL may name only
 * an allowlist of types (containers, torch tensor-rebuild helpers, storage and
 * dtype types, a few numpy/builtins helpers found in optimizer and training
 * state); each resolves to an inert descriptor, and REDUCE/NEWOBJ on it runs a
 * fixed JS constructor written here. Anything else is refused up front, so a
 * malicious pickle (e.g. `os.system` + REDUCE) cannot do anything.
 *
 * Value mapping: None -> null, bool -> boolean, int -> number (bigint when it
 * does not fit a double exactly), float -> number, str -> string, bytes ->
 * Uint8Array, list -> array, tuple -> frozen array, dict/OrderedDict -> PyDict
 * (a Map, insertion order kept), set -> Set, tensor -> TensorRef (lazy: its
 * storage is whatever the caller's persistentLoad returned).
 */
import { UserError } from '../errors.js';

/** An allowlisted Python global (class or function), kept as an inert descriptor. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A Python dict / OrderedDict. `attributes` holds state set by BUILD (torch stores `_metadata` there). */
export class PyDict extends Map<unknown, unknown> {
  declare attributes: Map<unknown, unknown> | undefined;
}

/** A tensor as described by torch._utils._rebuild_tensor(_v2): a view into a storage, not yet materialised. */
export class TensorRef {
  constructor(
    readonly storage: unknown,
    readonly storageOffset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
}

/** numpy.dtype as found in pickled numpy scalars. */
export class NumpyDtype {
  byteOrder = '=';
  constructor(readonly code: string) {}
}

export interface UnpickleOptions {
  /** Names the source (file path) in error messages. */
  name: string;
  /** Resolves BINPERSID/PERSID ids (torch: storages). Without it, persistent ids are an error. */
  persistentLoad?: (pid: unknown) => unknown;
}

/**
 * What calling a global builds. `charge(n)` accounts for n elements copied: the
 * copies a pickle can request (list(x), bytes(x), dict(x) on a memoised value, again
 * and again) are charged against a budget proportional to the pickle's length, so a
 * small file cannot make us build gigabytes.
 */
type Handler = (args: readonly unknown[], fail: (why: string) => never, charge: (n: number) => void) => unknown;

/** Elements copied when `v` is copied one level deep (0 for scalars). */
function sizeOf(v: unknown): number {
  if (Array.isArray(v) || typeof v === 'string') return v.length;
  if (v instanceof Map || v instanceof Set) return v.size;
  if (v instanceof Uint8Array) return v.byteLength;
  return 0;
}

/** Containers nested deeper than this are refused, so code that walks a loaded value recursively cannot overflow the stack. */
export const MAX_PICKLE_NESTING = 1000;
/** Longest integer literal accepted: Python itself refuses int(str) beyond 4300 digits. */
const MAX_INT_DIGITS = 4300;
/** Longest LONG1/LONG4 payload accepted (a 1 MiB integer; real checkpoints hold small ints). */
const MAX_LONG_BYTES = 1 << 20;

const isIntList = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isSafeInteger(x));

function newDict(args: readonly unknown[], fail: (why: string) => never, charge: (n: number) => void): PyDict {
  const d = new PyDict();
  if (args.length === 0) return d;
  const src = args[0];
  charge(sizeOf(src));
  if (src instanceof Map) {
    for (const [k, v] of src) d.set(k, v);
  } else if (Array.isArray(src)) {
    // Protocol 0/1 pickle OrderedDict as OrderedDict([[k, v], ...]).
    for (const pair of src) {
      if (!Array.isArray(pair) || pair.length !== 2) fail('OrderedDict items are not pairs');
      d.set(pair[0], pair[1]);
    }
  } else {
    fail('unexpected dict constructor argument');
  }
  return d;
}

function rebuildTensor(args: readonly unknown[], fail: (why: string) => never, charge: (n: number) => void): TensorRef {
  const [storage, offset, size, stride, requiresGrad] = args;
  charge(sizeOf(size) + sizeOf(stride));
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) fail('tensor storage offset is not a non-negative int');
  if (!isIntList(size) || !isIntList(stride) || size.length !== stride.length) fail('tensor size/stride are not matching int tuples');
  if (size.length > 64) fail(`tensor with ${size.length} dimensions`);
  if (size.some((d) => d < 0) || stride.some((s) => s < 0)) fail('negative tensor size or stride');
  return new TensorRef(storage, offset, [...size], [...stride], requiresGrad === true);
}

function latin1Bytes(s: string, fail: (why: string) => never): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) fail('latin1 string has a character above U+00FF');
    out[i] = c;
  }
  return out;
}

/** Decodes a pickled numpy scalar (numpy.core.multiarray.scalar(dtype, bytes)) into a JS number/bigint/boolean. */
function numpyScalar(args: readonly unknown[], fail: (why: string) => never): unknown {
  const [dt, raw] = args;
  if (!(dt instanceof NumpyDtype) || !(raw instanceof Uint8Array)) fail('numpy scalar without dtype/bytes');
  const little = dt.byteOrder !== '>';
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const need: Record<string, number> = { f8: 8, f4: 4, i8: 8, i4: 4, i2: 2, i1: 1, u8: 8, u4: 4, u2: 2, u1: 1, b1: 1 };
  const size = need[dt.code];
  if (size === undefined) fail(`numpy scalar of dtype ${dt.code} is not supported`);
  if (raw.byteLength !== size) fail('numpy scalar has the wrong byte count');
  const small = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  switch (dt.code) {
    case 'f8': return dv.getFloat64(0, little);
    case 'f4': return dv.getFloat32(0, little);
    case 'i8': return small(dv.getBigInt64(0, little));
    case 'u8': return small(dv.getBigUint64(0, little));
    case 'i4': return dv.getInt32(0, little);
    case 'u4': return dv.getUint32(0, little);
    case 'i2': return dv.getInt16(0, little);
    case 'u2': return dv.getUint16(0, little);
    case 'i1': return dv.getInt8(0);
    case 'u1': return dv.getUint8(0);
    default: return dv.getUint8(0) !== 0; // b1
  }
}

const bytesFrom: Handler = (args, fail, charge) => {
  if (args.length === 0) return new Uint8Array(0);
  charge(sizeOf(args[0]));
  if (args[0] instanceof Uint8Array) return new Uint8Array(args[0]);
  if (typeof args[0] === 'string') return latin1Bytes(args[0], fail); // bytearray(str, 'latin-1') in protocol 2
  if (isIntList(args[0])) return Uint8Array.from(args[0]);
  return fail('unsupported bytes/bytearray argument');
};

/** Callable globals and what calling them (REDUCE/NEWOBJ) builds. */
const CALLABLE: Record<string, Handler> = {
  'collections.OrderedDict': newDict,
  'builtins.dict': newDict,
  'builtins.list': (a, _f, charge) => (charge(sizeOf(a[0])), Array.isArray(a[0]) ? [...a[0]] : []),
  'builtins.tuple': (a, _f, charge) => (charge(sizeOf(a[0])), Object.freeze(Array.isArray(a[0]) ? [...a[0]] : [])),
  'builtins.set': (a, _f, charge) => (charge(sizeOf(a[0])), new Set(Array.isArray(a[0]) || a[0] instanceof Set ? a[0] : [])),
  'builtins.frozenset': (a, _f, charge) => (charge(sizeOf(a[0])), new Set(Array.isArray(a[0]) || a[0] instanceof Set ? a[0] : [])),
  'builtins.bytearray': bytesFrom,
  'builtins.bytes': bytesFrom,
  '_codecs.encode': (a, fail, charge) => {
    // Protocol 2 pickles bytes as _codecs.encode(latin1_text, 'latin1').
    if (typeof a[0] !== 'string' || (a[1] !== 'latin1' && a[1] !== 'latin-1')) fail('_codecs.encode with unexpected arguments');
    charge(sizeOf(a[0]));
    return latin1Bytes(a[0] as string, fail);
  },
  'torch._utils._rebuild_tensor': rebuildTensor,
  'torch._utils._rebuild_tensor_v2': rebuildTensor,
  'torch._utils._rebuild_parameter': (a, fail) => (a[0] instanceof TensorRef ? a[0] : fail('parameter without tensor data')),
  'torch._utils._rebuild_parameter_with_state': (a, fail) => (a[0] instanceof TensorRef ? a[0] : fail('parameter without tensor data')),
  'torch.Size': (a, fail, charge) => (charge(sizeOf(a[0])), isIntList(a[0]) ? Object.freeze([...a[0]]) : fail('torch.Size of non-ints')),
  'torch.device': (a, fail) => {
    if (typeof a[0] !== 'string' || (a.length > 1 && a[1] !== null && typeof a[1] !== 'number')) fail('torch.device with unexpected arguments');
    return a.length > 1 && a[1] !== null ? `${a[0] as string}:${a[1] as number}` : a[0];
  },
  'numpy.dtype': (a, fail) => (typeof a[0] === 'string' ? new NumpyDtype(a[0]) : fail('numpy.dtype without a code')),
  'numpy.core.multiarray.scalar': numpyScalar,
  'numpy._core.multiarray.scalar': numpyScalar,
};
// _rebuild_from_type_v2(func, new_type, args, state): calls func(*args) and then re-types it;
// for us only func matters, and it must itself be an allowlisted callable.
CALLABLE['torch._tensor._rebuild_from_type_v2'] = (a, fail, charge) => {
  const [func, , args] = a;
  if (!(func instanceof PyGlobal) || !Object.hasOwn(CALLABLE, func.qualname) || !Array.isArray(args)) fail('unexpected _rebuild_from_type_v2 arguments');
  return CALLABLE[(func as PyGlobal).qualname]!(args as unknown[], fail, charge);
};

/** Non-callable globals that may appear as values (storage types, dtypes, tensor classes). */
const TORCH_DTYPES = new Set([
  'float32', 'float', 'float64', 'double', 'float16', 'half', 'bfloat16', 'int64', 'long', 'int32', 'int',
  'int16', 'short', 'int8', 'uint8', 'bool', 'complex64', 'cfloat', 'complex128', 'cdouble',
]);
function isInertGlobal(module: string, name: string): boolean {
  if ((module === 'torch' || module === 'torch.cuda') && /^[A-Za-z0-9]+Storage$/.test(name)) return true;
  if (module === 'torch' && (TORCH_DTYPES.has(name) || name === 'Tensor')) return true;
  if (module === 'torch.storage' && (name === 'UntypedStorage' || name === 'TypedStorage')) return true;
  if (module === 'torch.nn.parameter' && name === 'Parameter') return true;
  return false;
}

/** Python 2 module names that map onto the Python 3 ones we allow. */
const MODULE_ALIASES: Record<string, string> = { __builtin__: 'builtins' };

const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, FLOAT: 0x46, INT: 0x49, BININT: 0x4a,
  BININT1: 0x4b, LONG: 0x4c, BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52,
  STRING: 0x53, BINSTRING: 0x54, SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, APPEND: 0x61,
  BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64, EMPTY_DICT: 0x7d, APPENDS: 0x65, GET: 0x67, BINGET: 0x68,
  INST: 0x69, LONG_BINGET: 0x6a, LIST: 0x6c, EMPTY_LIST: 0x5d, OBJ: 0x6f, PUT: 0x70, BINPUT: 0x71,
  LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75, BINFLOAT: 0x47,
  PROTO: 0x80, NEWOBJ: 0x81, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b, BINBYTES: 0x42, SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90,
  FROZENSET: 0x91, NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95, BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
} as const;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Little-endian two's-complement integer of arbitrary length (LONG1/LONG4), in linear time (via hex digits). */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  const digits = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) digits[bytes.length - 1 - i] = HEX[bytes[i]!]!;
  let v = BigInt(`0x${digits.join('')}`);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Unescapes a Python repr'd byte string (protocol 0 STRING) into a latin1 JS string. */
function unescapePy(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8) & 0xff);
    const map: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' };
    return map[e] ?? `\\${e}`;
  });
}

/** Decodes raw-unicode-escape text (protocol 0 UNICODE): latin1 bytes plus \uXXXX / \UXXXXXXXX. */
function rawUnicodeEscape(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (m: string, u4?: string, u8?: string) => {
    const cp = parseInt((u4 ?? u8)!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : m; // Python refuses these; we keep the escape as text
  });
}

/** Children of an unpickled container (dict keys too: tuples can be keys). */
function childrenOf(v: object): unknown[] {
  if (Array.isArray(v)) return v;
  if (v instanceof Map) {
    const out: unknown[] = [...v.keys(), ...v.values()];
    if (v instanceof PyDict && v.attributes) out.push(v.attributes);
    return out;
  }
  if (v instanceof Set) return [...v];
  return [];
}

/**
 * How deeply containers nest in an unpickled value (1 for a flat list), computed
 * without recursion; shared values are measured once, and a reference back to a
 * container being measured (a cycle) adds nothing. Stops counting past the limit.
 */
function nestingDepth(root: unknown): number {
  const isContainer = (v: unknown): v is object => Array.isArray(v) || v instanceof Map || v instanceof Set;
  if (!isContainer(root)) return 0;
  const height = new Map<object, number>();
  const onPath = new Set<object>();
  const frames: { node: object; children: unknown[]; i: number; h: number }[] = [];
  const enter = (v: object): void => {
    onPath.add(v);
    frames.push({ node: v, children: childrenOf(v), i: 0, h: 1 });
  };
  enter(root);
  while (frames.length > 0) {
    const f = frames[frames.length - 1]!;
    if (frames.length > MAX_PICKLE_NESTING) return frames.length;
    if (f.i < f.children.length) {
      const c = f.children[f.i++];
      if (!isContainer(c) || onPath.has(c)) continue;
      const h = height.get(c);
      if (h === undefined) enter(c);
      else f.h = Math.max(f.h, h + 1);
      continue;
    }
    frames.pop();
    onPath.delete(f.node);
    height.set(f.node, f.h);
    const parent = frames[frames.length - 1];
    if (parent) parent.h = Math.max(parent.h, f.h + 1);
    if (f.h > MAX_PICKLE_NESTING) return f.h;
  }
  return height.get(root)!;
}

/**
 * Runs the pickle at `buf[start..]` up to its STOP and returns the value and the
 * offset just after STOP (legacy torch files hold several pickles back to back).
 */
export function unpickle(buf: Uint8Array, opts: UnpickleOptions, start = 0): { value: unknown; end: number } {
  const { name } = opts;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const utf8 = new TextDecoder('utf-8');
  let pos = start;
  let opPos = start;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let copied = 0;
  const copyBudget = 4 * (buf.length - start) + (1 << 22);

  const fail = (why: string): never => {
    throw new UserError(`${name} is truncated or corrupt (pickle: ${why} at byte ${opPos})`);
  };
  const need = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || pos + n > buf.length) {
      throw new UserError(`${name} is truncated or corrupt (pickle data ends unexpectedly at byte ${buf.length})`);
    }
    const p = pos;
    pos += n;
    return p;
  };
  const bytes = (n: number): Uint8Array => {
    const p = need(n);
    return buf.subarray(p, p + n);
  };
  const line = (): string => {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) need(buf.length - pos + 1); // throws "ends unexpectedly"
    const s = utf8.decode(buf.subarray(pos, nl));
    pos = nl + 1;
    return s.endsWith('\r') ? s.slice(0, -1) : s;
  };
  const u8 = (): number => buf[need(1)]!;
  const u16 = (): number => dv.getUint16(need(2), true);
  const u32 = (): number => dv.getUint32(need(4), true);
  const u64 = (): number => {
    const p = need(8);
    const v = dv.getUint32(p + 4, true) * 0x100000000 + dv.getUint32(p, true);
    if (!Number.isSafeInteger(v)) fail('length out of range');
    return v;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK on the stack');
    return stack.splice(m!);
  };
  const resolveGlobal = (moduleRaw: string, gname: string): PyGlobal => {
    const module = Object.hasOwn(MODULE_ALIASES, moduleRaw) ? MODULE_ALIASES[moduleRaw]! : moduleRaw;
    const qual = `${module}.${gname}`;
    if (!CALLABLE[qual] && !isInertGlobal(module, gname)) {
      throw new UserError(`refusing to load ${name}: pickle references ${moduleRaw}.${gname}, which is not a tensor/state-dict type`);
    }
    return new PyGlobal(module, gname);
  };
  const charge = (n: number): void => {
    copied += n;
    if (copied > copyBudget) fail(`builds more than ${copyBudget} copied elements from ${buf.length - start} bytes`);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PyGlobal)) return fail('call of a non-class/function value');
    const handler = Object.hasOwn(CALLABLE, fn.qualname) ? CALLABLE[fn.qualname] : undefined;
    if (!handler) return fail(`${fn.qualname} is not callable`);
    if (!Array.isArray(args)) return fail(`${fn.qualname} called without an argument tuple`);
    return handler(args, fail, charge);
  };
  const intLiteral = (s: string, what: string): number | bigint => {
    if (!/^[+-]?\d+$/.test(s)) fail(`bad ${what} literal`);
    if (s.length > MAX_INT_DIGITS) fail(`${what} literal longer than ${MAX_INT_DIGITS} digits`);
    return int(BigInt(s));
  };
  const long = (n: number): number | bigint => {
    if (n > MAX_LONG_BYTES) fail(`integer of ${n} bytes (limit ${MAX_LONG_BYTES})`);
    return decodeLong(bytes(n));
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) fail('SETITEM(S) on a non-dict');
    if (items.length % 2 !== 0) fail('odd number of SETITEMS values');
    for (let i = 0; i < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target) || Object.isFrozen(target)) fail('APPEND(S) on a non-list');
    for (const it of items) (target as unknown[]).push(it); // no spread: a long MARK run would overflow the call stack
  };
  const persistent = (pid: unknown): unknown => {
    if (!opts.persistentLoad) fail('persistent id without a loader');
    return opts.persistentLoad!(pid);
  };
  const int = (v: bigint): number | bigint =>
    v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case OP.PROTO: {
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case OP.FRAME: u64(); break; // framing is only a read-ahead hint
      case OP.STOP: {
        if (stack.length !== 1 || marks.length !== 0) fail('STOP with an unbalanced stack');
        if (nestingDepth(stack[0]) > MAX_PICKLE_NESTING) fail(`containers nested more than ${MAX_PICKLE_NESTING} levels deep`);
        return { value: stack[0], end: pos };
      }
      case OP.MARK: marks.push(stack.length); break;
      case OP.POP: if (stack.length > 0 && marks.length > 0 && marks[marks.length - 1] === stack.length) marks.pop(); else pop(); break;
      case OP.POP_MARK: popMark(); break;
      case OP.DUP: stack.push(top()); break;

      case OP.NONE: stack.push(null); break;
      case OP.NEWTRUE: stack.push(true); break;
      case OP.NEWFALSE: stack.push(false); break;
      case OP.BININT: stack.push(dv.getInt32(need(4), true)); break;
      case OP.BININT1: stack.push(u8()); break;
      case OP.BININT2: stack.push(u16()); break;
      case OP.LONG1: stack.push(long(u8())); break;
      case OP.LONG4: {
        const n = dv.getInt32(need(4), true);
        if (n < 0) fail('negative LONG4 length');
        stack.push(long(n));
        break;
      }
      case OP.INT: {
        const s = line();
        if (s === '01') stack.push(true);
        else if (s === '00') stack.push(false);
        else stack.push(intLiteral(s, 'INT'));
        break;
      }
      case OP.LONG: stack.push(intLiteral(line().replace(/L$/, ''), 'LONG')); break;
      case OP.FLOAT: {
        const v = Number(line());
        if (Number.isNaN(v)) fail('bad FLOAT literal');
        stack.push(v);
        break;
      }
      case OP.BINFLOAT: stack.push(dv.getFloat64(need(8), false)); break; // big-endian by spec

      case OP.BINUNICODE: stack.push(utf8.decode(bytes(u32()))); break;
      case OP.SHORT_BINUNICODE: stack.push(utf8.decode(bytes(u8()))); break;
      case OP.BINUNICODE8: stack.push(utf8.decode(bytes(u64()))); break;
      case OP.UNICODE: {
        const nl = buf.indexOf(0x0a, pos);
        if (nl < 0) need(buf.length - pos + 1);
        stack.push(rawUnicodeEscape(bytes(nl - pos)));
        pos++;
        break;
      }
      // Python 2 str: bytes, which torch/py2 used for text; decoded as latin1 like torch's encoding='latin1'.
      case OP.BINSTRING: {
        const n = dv.getInt32(need(4), true);
        if (n < 0) fail('negative BINSTRING length');
        stack.push(new TextDecoder('latin1').decode(bytes(n)));
        break;
      }
      case OP.SHORT_BINSTRING: stack.push(new TextDecoder('latin1').decode(bytes(u8()))); break;
      case OP.STRING: {
        const s = line();
        const q = s[0];
        if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) fail('bad STRING literal');
        stack.push(unescapePy(s.slice(1, -1)));
        break;
      }
      case OP.BINBYTES: stack.push(new Uint8Array(bytes(u32()))); break;
      case OP.SHORT_BINBYTES: stack.push(new Uint8Array(bytes(u8()))); break;
      case OP.BINBYTES8: stack.push(new Uint8Array(bytes(u64()))); break;
      case OP.BYTEARRAY8: stack.push(new Uint8Array(bytes(u64()))); break;
      case OP.NEXT_BUFFER: case OP.READONLY_BUFFER:
        fail('out-of-band buffers are not supported');
        break;

      case OP.EMPTY_TUPLE: stack.push(Object.freeze([])); break;
      case OP.TUPLE1: stack.push(Object.freeze([pop()])); break;
      case OP.TUPLE2: { const b = pop(); const a = pop(); stack.push(Object.freeze([a, b])); break; }
      case OP.TUPLE3: { const c = pop(); const b = pop(); const a = pop(); stack.push(Object.freeze([a, b, c])); break; }
      case OP.TUPLE: stack.push(Object.freeze(popMark())); break;
      case OP.EMPTY_LIST: stack.push([]); break;
      case OP.LIST: stack.push(popMark()); break;
      case OP.APPEND: { const v = pop(); appendItems(top(), [v]); break; }
      case OP.APPENDS: { const items = popMark(); appendItems(top(), items); break; }
      case OP.EMPTY_DICT: stack.push(new PyDict()); break;
      case OP.DICT: { const d = new PyDict(); setItems(d, popMark()); stack.push(d); break; }
      case OP.SETITEM: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; }
      case OP.SETITEMS: { const items = popMark(); setItems(top(), items); break; }
      case OP.EMPTY_SET: stack.push(new Set()); break;
      case OP.FROZENSET: stack.push(new Set(popMark())); break;
      case OP.ADDITEMS: {
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail('ADDITEMS on a non-set');
        for (const it of items) (s as Set<unknown>).add(it);
        break;
      }

      case OP.BINPUT: memo.set(u8(), top()); break;
      case OP.LONG_BINPUT: memo.set(u32(), top()); break;
      case OP.PUT: {
        const s = line();
        if (!/^\d+$/.test(s)) fail('bad PUT index');
        memo.set(Number(s), top());
        break;
      }
      case OP.MEMOIZE: memo.set(memo.size, top()); break;
      case OP.BINGET: case OP.LONG_BINGET: case OP.GET: {
        const idx = op === OP.BINGET ? u8() : op === OP.LONG_BINGET ? u32() : Number(line());
        if (!memo.has(idx)) fail(`memo key ${idx} missing`);
        stack.push(memo.get(idx));
        break;
      }

      case OP.GLOBAL: {
        const module = line();
        const gname = line();
        stack.push(resolveGlobal(module, gname));
        break;
      }
      case OP.STACK_GLOBAL: {
        const gname = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof gname !== 'string') fail('STACK_GLOBAL with non-string names');
        stack.push(resolveGlobal(module as string, gname as string));
        break;
      }
      case OP.INST: {
        const cls = resolveGlobal(line(), line());
        stack.push(call(cls, popMark()));
        break;
      }
      case OP.OBJ: {
        const items = popMark();
        if (items.length === 0) fail('OBJ without a class');
        stack.push(call(items[0], items.slice(1)));
        break;
      }
      case OP.REDUCE: { const args = pop(); const fn = pop(); stack.push(call(fn, args)); break; }
      case OP.NEWOBJ: { const args = pop(); const cls = pop(); stack.push(call(cls, args)); break; }
      case OP.NEWOBJ_EX: {
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) fail('NEWOBJ_EX with keyword arguments');
        stack.push(call(cls, args));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) {
          // torch's OrderedDict carries `_metadata` as an instance attribute; keep it out of the items.
          const dictState = Array.isArray(state) ? state[0] : state;
          if (dictState instanceof Map) {
            charge(dictState.size);
            obj.attributes = new Map(dictState);
          }
          else if (dictState !== null) fail('unexpected dict state');
        } else if (obj instanceof NumpyDtype) {
          if (Array.isArray(state) && typeof state[1] === 'string') obj.byteOrder = state[1];
        }
        // Other allowlisted values (tensors, sizes) carry nothing we need in their state.
        break;
      }
      case OP.BINPERSID: stack.push(persistent(pop())); break;
      case OP.PERSID: stack.push(persistent(line())); break;
      case OP.EXT1: case OP.EXT2: case OP.EXT4:
        throw new UserError(`refusing to load ${name}: pickle uses the copyreg extension registry, which is not a tensor/state-dict type`);
      default:
        fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
