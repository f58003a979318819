/**
 * Class selection without files (platform-neutral): ids, ImageNet names
 * ('golden retriever') and WordNet ids resolved to class indices; labels for
 * sheets; class vectors (one-hot or soft) as the generators consume them.
 */
import { UserError } from '../errors.js';
import type { ArrayView } from '../io/ndarray.js';
import { IMAGENET_CLASS_TABLE } from './imagenet-class-table.js';

export interface ClassName {
  index: number;
  wnid: string;
  names: string[];
}

export const IMAGENET_NUM_CLASSES = 1000;

let imagenet: ClassName[] | null = null;

/** The 1000 ImageNet classes in BigGAN's index order. */
export function imagenetClasses(): ClassName[] {
  imagenet ??= IMAGENET_CLASS_TABLE.map(([wnid, names], index) => ({ index, wnid, names: names.split(',').map((s) => s.trim()) }));
  return imagenet;
}

/** A short label for sheets: the model's own class name, else the first ImageNet name for 1000 classes, else the id. */
export function classLabel(id: number, numClasses: number, names?: readonly string[]): string {
  if (names && names[id]) return `${id} ${names[id]}`;
  if (numClasses === IMAGENET_NUM_CLASSES) return `${id} ${imagenetClasses()[id].names[0]}`;
  return String(id);
}

/** ImageNet classes whose wnid or one of whose names contains `query` (case-insensitive). */
export function searchImagenetClasses(query: string): ClassName[] {
  const q = query.trim().toLowerCase();
  return imagenetClasses().filter((c) => c.wnid === q || c.names.some((n) => n.toLowerCase().includes(q)));
}

/** The class id of one name or WordNet id: the model's own names first, then ImageNet's for 1000-class models. */
export function lookupClassName(token: string, numClasses: number, names?: readonly string[]): number {
  const key = token.trim().toLowerCase();
  if (names) {
    const i = names.findIndex((n) => n.toLowerCase() === key);
    if (i >= 0) return i;
  }
  if (numClasses !== IMAGENET_NUM_CLASSES) throw new UserError(`unknown class "${token}": this model has ${numClasses} classes; use ids 0..${numClasses - 1}`);
  const hits = imagenetClasses().filter((c) => c.wnid === key || c.names.some((n) => n.toLowerCase() === key));
  if (hits.length === 0) throw new UserError(`unknown class "${token}": not an ImageNet class name or wnid (list them with \`biggan classes\`)`);
  if (hits.length > 1) throw new UserError(`class name "${token}" is ambiguous: ids ${hits.map((h) => h.index).join(', ')}; use an id`);
  return hits[0].index;
}

/** Class ids from ids, names or WordNet ids (strings of digits are ids), each checked against the model. */
export function resolveClasses(tokens: readonly (string | number)[], numClasses: number, names?: readonly string[]): number[] {
  if (tokens.length === 0) throw new UserError('the list of classes is empty');
  return tokens.map((t) => {
    const id = typeof t === 'number' ? t : /^\s*\d+\s*$/.test(t) ? Number(t) : lookupClassName(t, numClasses, names);
    if (!Number.isInteger(id) || id < 0 || id >= numClasses) throw new UserError(`class id ${id} out of range 0..${numClasses - 1}`);
    return id;
  });
}

/** Parses a comma- or semicolon-separated list of ids and/or names ("207,golden retriever"). */
export function parseClassList(spec: string, numClasses: number, names?: readonly string[]): number[] {
  const tokens = spec
    .split(/[,;]/)
    .map((t) => t.trim())
    .filter((t) => t.length);
  if (tokens.length === 0) throw new UserError('--classes is empty');
  return resolveClasses(tokens, numClasses, names);
}

export function oneHotVectors(ids: readonly number[], numClasses: number): Float32Array {
  const v = new Float32Array(ids.length * numClasses);
  ids.forEach((id, i) => (v[i * numClasses + id] = 1));
  return v;
}

/** The dominant class of each vector (for labels). */
export function argmaxRows(vectors: Float32Array, numClasses: number): number[] {
  const n = vectors.length / numClasses;
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (vectors[i * numClasses + c] > vectors[i * numClasses + best]) best = c;
    return best;
  });
}

/** Float rows [N, cols], finite, as float32 (float64 is converted); `what` names the array in errors. */
export function floatRows(a: ArrayView, cols: number, what: string, noun: string): { rows: Float32Array; n: number } {
  if (a.shape.length !== 2 || a.shape[1] !== cols) throw new UserError(`${what}: ${noun} must have shape [N, ${cols}], got [${a.shape}]`);
  if (!(a.data instanceof Float32Array || a.data instanceof Float64Array)) throw new UserError(`${what}: ${noun} must be float, got ${a.dtype ?? 'integers'}`);
  if (a.data.length !== a.shape[0] * cols) throw new UserError(`${what}: ${a.data.length} values do not fill shape [${a.shape}]`);
  const rows = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data);
  if (rows.some((x) => !Number.isFinite(x))) throw new UserError(`${what}: ${noun} contain NaN or Inf`);
  return { rows, n: a.shape[0] };
}

/** Checks a class-vector array [N, numClasses] (soft or mixed classes allowed). */
export function classVectorsFrom(a: ArrayView, numClasses: number, what: string): { vectors: Float32Array; n: number } {
  const { rows, n } = floatRows(a, numClasses, what, 'class vectors');
  return { vectors: rows, n };
}
