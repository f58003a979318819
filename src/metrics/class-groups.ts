/**
 * Rows grouped by class, for per-class metrics: classes of the evaluated and
 * the real set are paired by their id (label k of one set is label k of the
 * other), and every class seen in either set must have enough rows in both.
 */
import { UserError } from '../errors.js';
import type { Matrix } from '../linalg/matrix.js';

/** Number of rows of each class id present, in ascending id order. */
export function classCounts(classes: ArrayLike<number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < classes.length; i++) counts.set(classes[i]!, (counts.get(classes[i]!) ?? 0) + 1);
  return new Map([...counts].sort((a, b) => a[0] - b[0]));
}

/** "3 (cat)" when the name is known, else "3". */
export function className(id: number, names?: readonly string[]): string {
  const name = names?.[id];
  return name !== undefined && name !== String(id) ? `${id} (${name})` : String(id);
}

/**
 * The class ids seen in either set, ascending; a one-line UserError when one
 * has fewer than `min` rows in either set (`what` names the metric).
 */
export function pairedClasses(
  fake: ArrayLike<number>, real: ArrayLike<number>, min: number, what: string, names?: readonly string[],
): number[] {
  const f = classCounts(fake), r = classCounts(real);
  const ids = [...new Set([...f.keys(), ...r.keys()])].sort((a, b) => a - b);
  for (const c of ids) {
    const nf = f.get(c) ?? 0, nr = r.get(c) ?? 0;
    if (nf < min || nr < min) {
      throw new UserError(`${what} needs at least ${min} images of every class in both sets: class ${className(c, names)} has ${nf} evaluated and ${nr} real`);
    }
  }
  return ids;
}

/** The rows of `m` whose class is `c`, as a new matrix. */
export function rowsOfClass(m: Matrix, classes: ArrayLike<number>, c: number): Matrix {
  if (classes.length !== m.rows) throw new RangeError(`${classes.length} class ids for ${m.rows} rows`);
  let n = 0;
  for (let i = 0; i < classes.length; i++) if (classes[i] === c) n++;
  const out = new Float64Array(n * m.cols);
  let o = 0;
  for (let i = 0; i < classes.length; i++) {
    if (classes[i] !== c) continue;
    out.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), o);
    o += m.cols;
  }
  return { rows: n, cols: m.cols, data: out };
}
