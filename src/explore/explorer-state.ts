/**
 * The explorer's state as a URL fragment (platform-neutral: the browser app and the tests share it).
 *
 *   #seed=S&class=C&truncation=T            C as an id, a name or a WordNet id
 *   #seed=S&mix=207:0.7,980:0.3              a soft mix of classes (weights used as given)
 *   #z=<base64url float32>&mix=...           explicit latents (bred images), used as given
 *   &backend=wasm|webgpu&threads=N           how to run, not what to draw
 *
 * An image state resolves to generator inputs through `sampleInputs`, so `#seed=S&class=C&truncation=T`
 * is the image `biggan sample --seed S --classes C --truncation T -n 1` writes.
 */
import { UserError } from '../errors.js';
import { resolveClasses } from '../sample/class-lookup.js';
import { sampleInputs, type GeneratorInfo } from '../sample/sample-inputs.js';
import { checkTruncation } from '../sample/latents.js';

export interface ClassWeight {
  id: number;
  weight: number;
}

export interface ImageState {
  /** Seed of the latents (and of the class when none is given), as `biggan sample --seed`. */
  seed: number;
  /** Explicit latents [zDim]; when present they replace the seed's. */
  z?: Float32Array;
  /** One class with weight 1, a soft mix, or undefined: the seed's random class. */
  classes?: ClassWeight[];
  /** BigGAN-deep: (0, 1] (default 1); BigGAN: resampling threshold, undefined = none. */
  truncation?: number;
}

export type Backend = 'wasm' | 'webgpu';

export interface ExplorerState extends ImageState {
  backend?: Backend;
  threads?: number;
}

/** What the generator is fed for one image. */
export interface ImageInputs {
  z: Float32Array;
  classVector: Float32Array;
  truncation: number;
  /** The dominant class. */
  classId: number;
}

/** Generator inputs for an image state: the same numbers `biggan sample` feeds for that request. */
export function imageInputs(info: GeneratorInfo, s: ImageState): ImageInputs {
  const classVector = s.classes && !(s.classes.length === 1 && s.classes[0].weight === 1) ? mixVector(s.classes, info.numClasses) : undefined;
  const r = sampleInputs(info, {
    n: 1,
    seed: s.seed,
    truncation: s.truncation,
    ...(s.z ? { z: { data: s.z, shape: [1, info.zDim] } } : {}),
    ...(classVector ? { classVector: { data: classVector, shape: [1, info.numClasses] } } : s.classes ? { classes: [s.classes[0].id] } : {}),
  }, { n: 'n', z: 'z', classVector: 'mix', classes: 'class', truncation: 'truncation' });
  return { z: r.z.slice(0, info.zDim), classVector: r.classVectors.slice(0, info.numClasses), truncation: r.truncation, classId: r.classIds[0] };
}

export function mixVector(classes: readonly ClassWeight[], numClasses: number): Float32Array {
  const v = new Float32Array(numClasses);
  for (const c of classes) v[c.id] += c.weight;
  return v;
}

/** The non-zero entries of a class vector, largest first. */
export function classWeights(vector: Float32Array): ClassWeight[] {
  const out: ClassWeight[] = [];
  vector.forEach((w, id) => { if (w !== 0) out.push({ id, weight: w }); });
  return out.sort((a, b) => b.weight - a.weight || a.id - b.id);
}

// --- latents in the URL: base64url of little-endian float32, exact -------------------------

export function encodeLatents(z: Float32Array): string {
  const bytes = new Uint8Array(z.length * 4);
  const view = new DataView(bytes.buffer);
  z.forEach((v, i) => view.setFloat32(i * 4, v, true));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeLatents(text: string, zDim: number): Float32Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new UserError('z in the URL is not base64url');
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  if (bin.length !== zDim * 4) throw new UserError(`z in the URL holds ${bin.length} bytes; this model takes ${zDim} float32 values (${zDim * 4} bytes)`);
  const view = new DataView(new ArrayBuffer(bin.length));
  for (let i = 0; i < bin.length; i++) view.setUint8(i, bin.charCodeAt(i));
  const z = new Float32Array(zDim);
  for (let i = 0; i < zDim; i++) {
    z[i] = view.getFloat32(i * 4, true);
    if (!Number.isFinite(z[i])) throw new UserError(`z in the URL has a non-finite value at ${i}`);
  }
  return z;
}

// --- the fragment ----------------------------------------------------------------------------

function parseNumber(text: string, what: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) throw new UserError(`${what} in the URL must be a number, got "${text}"`);
  return v;
}

/** Parses `#seed=…&class=…` (leading '#' optional). Unknown keys are errors: a typo should not silently draw another image. */
export function parseFragment(fragment: string, info: GeneratorInfo): ExplorerState {
  const params = new URLSearchParams(fragment.replace(/^#/, ''));
  const known = new Set(['seed', 'class', 'mix', 'truncation', 'z', 'backend', 'threads']);
  for (const key of params.keys()) if (!known.has(key)) throw new UserError(`unknown URL key "${key}" (known: ${[...known].join(', ')})`);
  const state: ExplorerState = { seed: 0 };
  const seed = params.get('seed');
  if (seed !== null) {
    const v = parseNumber(seed, 'seed');
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new UserError(`seed in the URL must be an integer in 0..4294967295, got ${seed}`);
    state.seed = v;
  }
  const cls = params.get('class');
  const mix = params.get('mix');
  if (cls !== null && mix !== null) throw new UserError('give either class or mix in the URL, not both');
  if (cls !== null) state.classes = [{ id: resolveClasses([cls], info.numClasses, info.classNames)[0], weight: 1 }];
  if (mix !== null) {
    const parts = mix.split(',').filter((p) => p.trim() !== '');
    if (parts.length === 0) throw new UserError('mix in the URL is empty');
    state.classes = parts.map((p) => {
      const at = p.lastIndexOf(':');
      if (at < 0) throw new UserError(`mix entry "${p}" must be class:weight`);
      const weight = parseNumber(p.slice(at + 1), `the weight of "${p}"`);
      return { id: resolveClasses([p.slice(0, at)], info.numClasses, info.classNames)[0], weight };
    });
  }
  const t = params.get('truncation');
  if (t !== null) {
    state.truncation = parseNumber(t, 'truncation');
    checkTruncation(state.truncation, info.usesTruncation, 'truncation');
  }
  const z = params.get('z');
  if (z !== null) state.z = decodeLatents(z, info.zDim);
  const backend = params.get('backend');
  if (backend !== null) {
    if (backend !== 'wasm' && backend !== 'webgpu') throw new UserError(`backend in the URL must be wasm or webgpu, got "${backend}"`);
    state.backend = backend;
  }
  const threads = params.get('threads');
  if (threads !== null) {
    const v = parseNumber(threads, 'threads');
    if (!Number.isInteger(v) || v < 1 || v > 64) throw new UserError(`threads in the URL must be an integer in 1..64, got ${threads}`);
    state.threads = v;
  }
  return state;
}

/** The fragment for a state (ids, not names: short and unambiguous). */
export function formatFragment(s: ExplorerState): string {
  const p: string[] = [];
  if (s.z) p.push(`z=${encodeLatents(s.z)}`);
  p.push(`seed=${s.seed}`);
  if (s.classes) {
    if (s.classes.length === 1 && s.classes[0].weight === 1) p.push(`class=${s.classes[0].id}`);
    else p.push(`mix=${s.classes.map((c) => `${c.id}:${roundWeight(c.weight)}`).join(',')}`);
  }
  if (s.truncation !== undefined) p.push(`truncation=${s.truncation}`);
  if (s.backend) p.push(`backend=${s.backend}`);
  if (s.threads) p.push(`threads=${s.threads}`);
  return '#' + p.join('&');
}

/** Weights in URLs keep 4 decimals; states are rounded the same way before drawing, so a URL redraws its image exactly. */
export function roundWeight(w: number): number {
  return Math.round(w * 1e4) / 1e4;
}
