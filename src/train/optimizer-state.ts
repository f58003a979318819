/**
 * Adam's state for one network: first and second moments per trainable parameter
 * (Params, so the iteration graph takes them as inputs and returns their new values
 * like the weights) and the step count. The state saves to and loads from flat
 * tensor maps keyed `<param>.exp_avg`, `<param>.exp_avg_sq`, `<param>.step` (0-d
 * float32), torch's per-parameter Adam state; names are the model's own parameter
 * paths, or any other naming through `rename`.
 */
import { Param } from '../engine/graph.js';
import type { NdArray } from '../io/ndarray.js';
import { shapeToString } from '../io/ndarray.js';
import { Module } from '../nn/module.js';
import { UserError } from '../errors.js';

export interface AdamSlots {
  expAvg: Param;
  expAvgSq: Param;
}

export class AdamState {
  /** Completed optimizer steps (torch's `step`; the same for every parameter). */
  step = 0;
  /** Slots per trainable parameter, in the model's parameter order. */
  readonly slots = new Map<Param, AdamSlots>();
  /** Parameter path (within the model) → parameter. */
  readonly paths = new Map<string, Param>();

  /** Zero moments for every trainable parameter of `model`; slot names start with `prefix` (unique in a graph). */
  constructor(model: Module, prefix: string) {
    for (const [path, p] of model.namedParams()) {
      if (!p.trainable) continue;
      this.paths.set(path, p);
      this.slots.set(p, {
        expAvg: Param.zeros(`${prefix}.${path}.exp_avg`, p.shape, false),
        expAvgSq: Param.zeros(`${prefix}.${path}.exp_avg_sq`, p.shape, false),
      });
    }
  }

  /** Every slot Param (for feeding and updating). */
  slotParams(): Param[] {
    return [...this.slots.values()].flatMap((s) => [s.expAvg, s.expAvgSq]);
  }

  /** The state as tensors `<name>.exp_avg|exp_avg_sq|step`, name = rename(parameter path). Copies the data. */
  toTensors(rename: (path: string) => string = (p) => p): Map<string, NdArray> {
    const out = new Map<string, NdArray>();
    for (const [path, p] of this.paths) {
      const s = this.slots.get(p)!;
      const name = rename(path);
      out.set(`${name}.exp_avg`, { dtype: 'float32', shape: [...p.shape], data: Float32Array.from(s.expAvg.data) });
      out.set(`${name}.exp_avg_sq`, { dtype: 'float32', shape: [...p.shape], data: Float32Array.from(s.expAvgSq.data) });
      out.set(`${name}.step`, { dtype: 'float32', shape: [], data: Float32Array.of(this.step) });
    }
    return out;
  }

  /**
   * Loads a state written by toTensors (strictly: every entry present with its shape,
   * nothing else, one step count for all). A state that has never stepped may be empty.
   */
  loadTensors(tensors: Map<string, NdArray>, source: string, rename: (path: string) => string = (p) => p): void {
    if (tensors.size === 0) {
      for (const s of this.slotParams()) s.data = new Float32Array(s.data.length);
      this.step = 0;
      return;
    }
    const problems: string[] = [];
    const expected = new Set<string>();
    const loaded = new Map<Param, Float32Array>();
    let step: number | null = null;
    for (const [path, p] of this.paths) {
      const name = rename(path);
      const s = this.slots.get(p)!;
      for (const [suffix, slot] of [['exp_avg', s.expAvg], ['exp_avg_sq', s.expAvgSq]] as const) {
        const key = `${name}.${suffix}`;
        expected.add(key);
        const t = tensors.get(key);
        if (!t) problems.push(`missing ${key}`);
        else if (!(t.data instanceof Float32Array) || t.data.length !== slot.data.length) {
          problems.push(`${key}: expected float32 ${shapeToString(p.shape)}, found ${t.dtype} ${shapeToString(t.shape)}`);
        } else loaded.set(slot, t.data);
      }
      const key = `${name}.step`;
      expected.add(key);
      const t = tensors.get(key);
      if (!t || t.data.length !== 1) problems.push(`missing ${key}`);
      else {
        const v = Number(t.data[0]);
        if (!Number.isInteger(v) || v < 0) problems.push(`${key}: ${v} is not a step count`);
        else if (step !== null && v !== step) problems.push(`${key}: step ${v} differs from the other parameters' ${step}`);
        else step = v;
      }
    }
    for (const key of tensors.keys()) if (!expected.has(key)) problems.push(`unexpected ${key}`);
    if (problems.length) {
      const more = problems.length > 6 ? `; and ${problems.length - 6} more` : '';
      throw new UserError(`${source} does not fit the optimizer state: ${problems.slice(0, 6).join('; ')}${more}`);
    }
    for (const [slot, data] of loaded) slot.data = Float32Array.from(data);
    this.step = step ?? 0;
  }
}
