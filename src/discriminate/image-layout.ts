/** Images for a discriminator: float NCHW in [-1, 1] from the layouts users hand us. */
import { UserError } from '../errors.js';
import type { ArrayView } from '../io/ndarray.js';

/** Float NCHW in [-1, 1] from float NCHW, or uint8 NHWC / NCHW in [0, 255]; `what` names the array in errors. */
export function imagesAsNchw(a: ArrayView, resolution: number, what: string): Float32Array {
  const R = resolution;
  if (a.shape.length !== 4) throw new UserError(`${what}: images must be 4-d, got shape [${a.shape}]`);
  const [n, d1, d2, d3] = a.shape;
  if (a.data.length !== n * d1 * d2 * d3) throw new UserError(`${what}: ${a.data.length} values do not fill shape [${a.shape}]`);
  if (a.data instanceof Float32Array || a.data instanceof Float64Array) {
    if (d1 !== 3 || d2 !== R || d3 !== R) throw new UserError(`${what}: float images must be [N, 3, ${R}, ${R}], got [${a.shape}]`);
    const x = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data);
    if (x.some((v) => !Number.isFinite(v))) throw new UserError(`${what}: images contain NaN or Inf`);
    return x;
  }
  if (a.data instanceof Uint8Array && a.dtype !== 'bool') {
    const src = a.data;
    const out = new Float32Array(n * 3 * R * R);
    const nhwc = d3 === 3 && d1 === R && d2 === R;
    const nchw = d1 === 3 && d2 === R && d3 === R;
    if (!nhwc && !nchw) throw new UserError(`${what}: uint8 images must be [N, ${R}, ${R}, 3] or [N, 3, ${R}, ${R}], got [${a.shape}]`);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < 3; c++)
        for (let p = 0; p < R * R; p++) {
          const v = nhwc ? src[(i * R * R + p) * 3 + c] : src[(i * 3 + c) * R * R + p];
          out[(i * 3 + c) * R * R + p] = v / 127.5 - 1;
        }
    return out;
  }
  throw new UserError(`${what}: images must be float or uint8, got ${a.dtype ?? a.data.constructor.name}`);
}
