/**
 * Copies a state dict (already renamed to our parameter names by a layout) into a
 * model, nanoGPT-style strict: every key present, none unexpected, every shape equal.
 * Nothing is modified unless everything matches.
 */
import { Module } from '../nn/module.js';
import { NdArray, shapeToString, numel } from '../io/ndarray.js';
import { UserError, inFile } from '../errors.js';
import { withParamBudget } from '../engine/graph.js';

export interface LoadOptions {
  /** Name of the source, for messages. */
  source: string;
  /** Our parameter names that may be absent from the file (kept at their current values). */
  optional?: (name: string) => boolean;
}

/** Equal shapes, counting a 0-d tensor and a [1] tensor as the same (checkpoints differ on this). */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  // a 0-d tensor and a [1] tensor hold the same single value; checkpoints differ on this
  return (a.length === b.length && a.every((d, i) => d === b[i])) || (numel(a) === 1 && numel(b) === 1 && a.length <= 1 && b.length <= 1);
}

export function loadStateDict(model: Module, state: Map<string, NdArray>, opts: LoadOptions): void {
  const params = model.stateDict();
  const problems: string[] = [];
  for (const [name, p] of params) {
    const t = state.get(name);
    if (!t) {
      if (!opts.optional?.(name)) problems.push(`missing ${name} ${shapeToString(p.shape)}`);
      continue;
    }
    if (!sameShape(t.shape, p.shape)) problems.push(`${name}: expected ${shapeToString(p.shape)}, found ${shapeToString(t.shape)}`);
    else if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) problems.push(`${name}: expected float weights, found ${t.dtype}`);
  }
  for (const name of state.keys()) if (!params.has(name)) problems.push(`unexpected ${name}`);
  if (problems.length) {
    const shown = problems.slice(0, 8).join('; ');
    const more = problems.length > 8 ? `; and ${problems.length - 8} more` : '';
    throw new UserError(`${opts.source} does not fit the model: ${shown}${more}`);
  }
  for (const name of params.keys()) {
    const t = state.get(name);
    if (!t) continue;
    const src = t.data as Float32Array | Float64Array;
    for (let i = 0; i < src.length; i++) {
      if (!Number.isFinite(src[i])) throw new UserError(`${opts.source}: ${name} contains NaN or Inf`);
    }
  }
  for (const [name, p] of params) {
    const t = state.get(name);
    if (t) p.data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array);
  }
}

/** Parameter values a model may allocate beyond twice its file's: room for buffers a file leaves out and for
 * a merely mismatched config to be built and reported key by key (64 Mi values, 256 MiB). */
const BUILD_MARGIN = 1 << 26;

/**
 * Builds a model whose weights are `tensors` (read from `source`). Parameters are
 * charged against the values those tensors hold before they are allocated (twice
 * that plus BUILD_MARGIN), so a config that declares absurd sizes fails at once
 * instead of allocating them; a UserError raised while building is made to name the file.
 */
export function buildForFile<T>(source: string, tensors: ReadonlyMap<string, NdArray>, build: () => T): T {
  let fileValues = 0;
  for (const t of tensors.values()) fileValues += t.data.length;
  return inFile(source, () => withParamBudget(2 * fileValues + BUILD_MARGIN, (needed) => {
    throw new UserError(`${source}: its config declares a model larger than the ${fileValues} values the file holds (a tensor of ${needed} values)`);
  }, build));
}
