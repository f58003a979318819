/**
 * Which rows of pytorch-pretrained-BigGAN's per-truncation BN statistics a truncation value
 * selects, in plain numbers (platform-neutral): the same float64 maths as the graph's
 * selectStatRows (t / (1 / (n - 1)), floor, coef on the lower row, 1 - coef on the upper one,
 * the lower row alone when coef is exactly 0). The browser feeds these to the site's generator,
 * because onnxruntime-web's WebGPU build has no float64 kernels for the graph's own lookup.
 */
export interface StatRowSelection {
  /** Lower and upper row. */
  rows: [number, number];
  /** Their weights (float32 values); [1, 0] with rows [lower, lower] when coef is exactly 0. */
  weights: [number, number];
}

export function statRowSelection(truncation: number, nStats: number): StatRowSelection {
  const step = 1.0 / (nStats - 1);
  const q = truncation / step;
  const lower = Math.floor(q);
  const coef = q - lower;
  // lo * 1 + lo * 0 is exactly lo: the graph's "lower row alone" branch
  if (coef === 0) return { rows: [lower, lower], weights: [1, 0] };
  return { rows: [lower, Math.min(lower + 1, nStats - 1)], weights: [Math.fround(coef), Math.fround(1 - coef)] };
}
