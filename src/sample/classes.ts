/**
 * Class selection: ids, ImageNet names ('golden retriever'), WordNet ids, or an .npy
 * of int ids; and class vectors (one-hot or soft) as the generators consume them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { readNpy } from '../io/npy.js';

export interface ClassName {
  index: number;
  wnid: string;
  names: string[];
}

let imagenet: ClassName[] | null = null;

function dataDir(): string {
  // dist/src/sample → repo root / data (also works from src/sample under tsx)
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'data', 'imagenet-classes.tsv'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('data/imagenet-classes.tsv not found beside the package');
    dir = up;
  }
  return path.join(dir, 'data');
}

export function imagenetClasses(): ClassName[] {
  if (!imagenet) {
    const text = fs.readFileSync(path.join(dataDir(), 'imagenet-classes.tsv'), 'utf8');
    imagenet = text
      .split('\n')
      .filter((l) => l && !l.startsWith('#') && !l.startsWith('index\t'))
      .map((l) => {
        const [index, wnid, names] = l.split('\t');
        return { index: Number(index), wnid, names: names.split(',').map((s) => s.trim()) };
      });
  }
  return imagenet;
}

/** A short label for sheets: the first ImageNet name when the model has 1000 classes. */
export function classLabel(id: number, numClasses: number, names?: string[]): string {
  if (names && names[id]) return `${id} ${names[id]}`;
  if (numClasses === 1000) return `${id} ${imagenetClasses()[id].names[0]}`;
  return String(id);
}

function lookupName(token: string, numClasses: number, names?: string[]): number {
  const key = token.trim().toLowerCase();
  if (names) {
    const i = names.findIndex((n) => n.toLowerCase() === key);
    if (i >= 0) return i;
  }
  if (numClasses !== 1000) throw new UserError(`unknown class "${token}": this model has ${numClasses} classes; use ids 0..${numClasses - 1}`);
  const hits = imagenetClasses().filter((c) => c.wnid === key || c.names.some((n) => n.toLowerCase() === key));
  if (hits.length === 0) throw new UserError(`unknown class "${token}": not an ImageNet class name or wnid (see data/imagenet-classes.tsv)`);
  if (hits.length > 1) throw new UserError(`class name "${token}" is ambiguous: ids ${hits.map((h) => h.index).join(', ')}; use an id`);
  return hits[0].index;
}

/**
 * Parses --classes: a comma-separated list of ids and/or names ("207,golden retriever"),
 * or a path to an .npy of int ids.
 */
export function parseClasses(spec: string, numClasses: number, names?: string[]): number[] {
  let ids: number[];
  if (spec.endsWith('.npy')) {
    const a = readNpy(spec);
    if (a.dtype !== 'int64' && a.dtype !== 'int32') throw new UserError(`${spec}: class ids must be int64 or int32, got ${a.dtype}`);
    if (a.shape.length !== 1) throw new UserError(`${spec}: class ids must be 1-d, got shape [${a.shape}]`);
    ids = Array.from(a.data as ArrayLike<number | bigint>, (v) => Number(v));
  } else {
    ids = spec
      .split(/[,;]/)
      .map((t) => t.trim())
      .filter((t) => t.length)
      .map((t) => (/^\d+$/.test(t) ? Number(t) : lookupName(t, numClasses, names)));
  }
  if (ids.length === 0) throw new UserError('--classes is empty');
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= numClasses) {
      throw new UserError(`${spec.endsWith('.npy') ? `${spec}: ` : ''}class id ${id} out of range 0..${numClasses - 1}`);
    }
  }
  return ids;
}

export function oneHotVectors(ids: number[], numClasses: number): Float32Array {
  const v = new Float32Array(ids.length * numClasses);
  ids.forEach((id, i) => (v[i * numClasses + id] = 1));
  return v;
}

/** Reads a float class-vector array [N, numClasses] (soft or mixed classes allowed). */
export function readClassVectors(file: string, numClasses: number): { vectors: Float32Array; n: number } {
  const a = readNpy(file);
  if (a.shape.length !== 2 || a.shape[1] !== numClasses) {
    throw new UserError(`${file}: class vectors must have shape [N, ${numClasses}], got [${a.shape}]`);
  }
  if (a.dtype !== 'float32' && a.dtype !== 'float64') throw new UserError(`${file}: class vectors must be float, got ${a.dtype}`);
  const vectors = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as Float64Array);
  if (vectors.some((x) => !Number.isFinite(x))) throw new UserError(`${file}: class vectors contain NaN or Inf`);
  return { vectors, n: a.shape[0] };
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
