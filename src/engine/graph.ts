/**
 * The symbolic graph: tensors are values with static shapes and dtypes, nodes are
 * ONNX operators. Models are written against this API, autodiff extends the same
 * graph with gradient nodes, and onnx-export.ts turns it into an ONNX model.
 */
import { numel, shapeToString } from '../io/ndarray.js';

export type DType = 'float32' | 'float64' | 'int64' | 'bool';
export type AttrValue = number | string | number[] | { float: number } | { floats: number[] } | { tensor: ConstData };

export interface ConstData {
  dtype: DType;
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array | Uint8Array;
}

/** The innermost active withParamBudget scope, if any. */
let paramBudget: { left: number; exceeded: (needed: number) => never } | null = null;

/**
 * Runs `build` (a model constructor) with at most `maxElements` parameter values
 * allocated by Param.zeros/filled in it; the first allocation that would pass the
 * limit calls `exceeded` (which throws) instead. Loaders use it to check the sizes
 * a file's config declares against the values the file holds before allocating.
 */
export function withParamBudget<T>(maxElements: number, exceeded: (needed: number) => never, build: () => T): T {
  const outer = paramBudget;
  const budget = { left: maxElements, exceeded };
  paramBudget = budget;
  try {
    return build();
  } finally {
    paramBudget = outer;
  }
}

function allocParam(shape: number[]): Float32Array {
  const n = numel(shape);
  if (paramBudget) {
    if (!Number.isSafeInteger(n) || n > paramBudget.left) paramBudget.exceeded(n);
    paramBudget.left -= n;
  }
  return new Float32Array(n);
}

/** A named array that lives outside any one graph: a weight, a buffer, an optimizer slot. */
export class Param {
  constructor(
    public name: string,
    public readonly shape: number[],
    public data: Float32Array,
    /** false for buffers (SN vectors, BN statistics): never differentiated or optimized. */
    public trainable = true,
  ) {
    if (data.length !== numel(shape)) {
      throw new Error(`param ${name}: data has ${data.length} values, shape ${shapeToString(shape)} needs ${numel(shape)}`);
    }
  }
  static zeros(name: string, shape: number[], trainable = true): Param {
    return new Param(name, shape, allocParam(shape), trainable);
  }
  static filled(name: string, shape: number[], value: number, trainable = true): Param {
    return new Param(name, shape, allocParam(shape).fill(value), trainable);
  }
}

export type TensorKind = 'input' | 'param' | 'const' | 'op';

export class Tensor {
  /** Set for kind 'op': the node that computes this tensor. */
  producer: Node | null = null;
  /** Set for kind 'param'. */
  param: Param | null = null;
  /** Set for kind 'const'. */
  constData: ConstData | null = null;
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly kind: TensorKind,
    public name: string,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return numel(this.shape);
  }
  toString(): string {
    return `${this.name}${shapeToString(this.shape as number[])}:${this.dtype}`;
  }
}

export interface Node {
  op: string;
  inputs: Tensor[];
  outputs: Tensor[];
  attrs: Record<string, AttrValue>;
  /** ONNX domain ('' = default). */
  domain?: string;
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  private nextId = 0;
  private paramTensors = new Map<Param, Tensor>();
  private scalarCache = new Map<string, Tensor>();
  /** Name scope prefix for op outputs (debugging aid: names show which module made a value). */
  private scope: string[] = [];

  private make(shape: readonly number[], dtype: DType, kind: TensorKind, name?: string): Tensor {
    const id = this.nextId++;
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`bad dimension ${d} in shape ${shapeToString(shape as number[])} of ${name ?? 't' + id}`);
    }
    return new Tensor(this, id, Object.freeze([...shape]), dtype, kind, name ?? `t${id}`);
  }

  /** A value fed at run time. */
  input(name: string, shape: number[], dtype: DType = 'float32'): Tensor {
    if (this.inputs.some((t) => t.name === name)) throw new Error(`graph input ${name} declared twice`);
    const t = this.make(shape, dtype, 'input', name);
    this.inputs.push(t);
    return t;
  }

  /** The tensor standing for a parameter in this graph (one per Param). */
  param(p: Param): Tensor {
    let t = this.paramTensors.get(p);
    if (!t) {
      t = this.make(p.shape, 'float32', 'param', p.name);
      t.param = p;
      this.paramTensors.set(p, t);
    }
    return t;
  }

  params(): Param[] {
    return [...this.paramTensors.keys()];
  }

  paramTensor(p: Param): Tensor | undefined {
    return this.paramTensors.get(p);
  }

  constant(data: ConstData): Tensor {
    const t = this.make(data.shape, data.dtype, 'const');
    t.constData = data;
    return t;
  }

  /** A scalar constant (rank 0), shared between uses. */
  scalar(value: number, dtype: DType = 'float32'): Tensor {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
    let t = this.scalarCache.get(key);
    if (!t) {
      t = this.constant({ dtype, shape: [], data: typedFrom(dtype, [value]) });
      this.scalarCache.set(key, t);
    }
    return t;
  }

  /** A rank-1 int64 constant (shapes, axes, indices for ONNX operators). */
  ints(values: readonly number[]): Tensor {
    return this.constant({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
  }

  floats(values: ArrayLike<number>, shape: number[]): Tensor {
    return this.constant({ dtype: 'float32', shape, data: Float32Array.from(values as ArrayLike<number>) });
  }

  /** Adds a node whose output shapes the caller has already inferred. */
  addNode(op: string, inputs: Tensor[], attrs: Record<string, AttrValue>, outs: { shape: readonly number[]; dtype: DType }[], domain?: string): Tensor[] {
    for (const x of inputs) {
      if (x.graph !== this) throw new Error(`${op}: input ${x.name} belongs to another graph`);
    }
    const prefix = this.scope.length ? this.scope.join('/') + '/' : '';
    const outputs = outs.map((o) => this.make(o.shape, o.dtype, 'op', `${prefix}${op}_${this.nextId}`));
    const node: Node = { op, inputs, outputs, attrs, domain };
    for (const t of outputs) t.producer = node;
    this.nodes.push(node);
    return outputs;
  }

  /** Runs fn with a name scope, so node names in the ONNX file show the module path. */
  withScope<T>(name: string, fn: () => T): T {
    this.scope.push(name);
    try {
      return fn();
    } finally {
      this.scope.pop();
    }
  }
}

export function typedFrom(dtype: DType, values: number[]): Float32Array | Float64Array | BigInt64Array | Uint8Array {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(values);
    case 'float64':
      return Float64Array.from(values);
    case 'int64':
      return BigInt64Array.from(values.map((v) => BigInt(v)));
    case 'bool':
      return Uint8Array.from(values.map((v) => (v ? 1 : 0)));
  }
}

/** Throws with a message naming the tensor when its shape is not the expected one. */
export function expectShape(t: Tensor, expected: readonly (number | null)[], what?: string): void {
  const ok = t.shape.length === expected.length && expected.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) {
    const exp = `[${expected.map((d) => (d === null ? '?' : d)).join(', ')}]`;
    throw new Error(`${what ?? t.name}: expected shape ${exp}, got ${shapeToString(t.shape as number[])}`);
  }
}

/** Checks the last dimension (feature size) of a tensor. */
export function expectLastDim(t: Tensor, size: number, what?: string): void {
  if (t.shape[t.shape.length - 1] !== size) {
    throw new Error(`${what ?? t.name}: expected last dimension ${size}, got ${shapeToString(t.shape as number[])}`);
  }
}
