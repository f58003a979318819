/** NumPy broadcasting, as ONNX's multidirectional broadcast uses it. */
import { shapeToString } from '../io/ndarray.js';

export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${shapeToString(a as number[])} and ${shapeToString(b as number[])} do not broadcast`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Axes of `full` that were broadcast from `small` (leading extra axes and size-1 axes). */
export function broadcastAxes(full: readonly number[], small: readonly number[]): number[] {
  const lead = full.length - small.length;
  const axes: number[] = [];
  for (let i = 0; i < full.length; i++) {
    if (i < lead) axes.push(i);
    else if (small[i - lead] === 1 && full[i] !== 1) axes.push(i);
  }
  return axes;
}
