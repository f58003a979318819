/** 2-d convolution (NCHW, OIHW weights) and its gradients, written as further convolutions. */
import { Tensor } from '../graph.js';
import { registerVjp } from '../vjp-registry.js';
import { reduceSum } from './reduce.js';
import { concat, depthToSpace, gather, pad, reshape, slice, sliceBox, spaceToDepth, split, transpose } from './shape.js';
import { avgPool2d, unpoolZeros, upsampleNearest } from './pooling.js';
import { add } from './elementwise.js';
import { matmul } from './matmul.js';

export interface Conv2dOptions {
  stride?: number;
  /** Same on all sides, [rows, columns], or [top, left, bottom, right]. */
  pad?: number | [number, number] | [number, number, number, number];
  dilation?: number;
}

/** Padding as ONNX's [top, left, bottom, right]. */
function fourSidedPads(pad: Conv2dOptions['pad']): [number, number, number, number] {
  if (typeof pad === 'number') return [pad, pad, pad, pad];
  if (!pad) return [0, 0, 0, 0];
  return pad.length === 2 ? [pad[0], pad[1], pad[0], pad[1]] : pad;
}

export function conv2d(x: Tensor, w: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const s = opts.stride ?? 1;
  const dil = opts.dilation ?? 1;
  const pads = fourSidedPads(opts.pad);
  const [pt, pl, pb, pr] = pads;
  if (x.rank !== 4 || w.rank !== 4) throw new Error(`conv2d: input ${x} and weight ${w} must be 4-d`);
  const [n, c, h, wd] = x.shape;
  const [o, ci, kh, kw] = w.shape;
  if (c !== ci) throw new Error(`conv2d: input ${x} has ${c} channels, weight ${w} expects ${ci}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== o)) throw new Error(`conv2d: bias ${bias} does not match ${o} output channels`);
  if (pads.some((p) => !(Number.isInteger(p) && p >= 0))) throw new Error(`conv2d: bad padding [${pads}]`);
  const ho = Math.floor((h + pt + pb - dil * (kh - 1) - 1) / s) + 1;
  const wo = Math.floor((wd + pl + pr - dil * (kw - 1) - 1) / s) + 1;
  if (ho <= 0 || wo <= 0) throw new Error(`conv2d: ${x} too small for kernel ${kh}x${kw}`);
  const inputs = bias ? [x, w, bias] : [x, w];
  return x.graph.addNode(
    'Conv',
    inputs,
    { kernel_shape: [kh, kw], strides: [s, s], pads, dilations: [dil, dil], group: 1 },
    [{ shape: [n, o, ho, wo], dtype: x.dtype }],
  )[0];
}

/** Transposed convolution with explicit output padding (the adjoint of a strided conv). */
export function convTranspose2d(x: Tensor, w: Tensor, stride: number, pad: [number, number], outPad: [number, number]): Tensor {
  const [n, , h, wd] = x.shape;
  const [, co, kh, kw] = w.shape;
  const ho = (h - 1) * stride + kh - 2 * pad[0] + outPad[0];
  const wo = (wd - 1) * stride + kw - 2 * pad[1] + outPad[1];
  return x.graph.addNode(
    'ConvTranspose',
    [x, w],
    { kernel_shape: [kh, kw], strides: [stride, stride], pads: [pad[0], pad[1], pad[0], pad[1]], output_padding: outPad, group: 1 },
    [{ shape: [n, co, ho, wo], dtype: x.dtype }],
  )[0];
}

registerVjp('Conv', (node, [dy]) => {
  if (!dy) return node.inputs.map(() => undefined);
  const [x, w, b] = node.inputs;
  const [s] = node.attrs.strides as number[];
  const [dil] = node.attrs.dilations as number[];
  const [pt, pl, pb, pr] = node.attrs.pads as number[];
  const [ph, pw] = [pt, pl];
  const [kh, kw] = node.attrs.kernel_shape as number[];
  if (dil !== 1) throw new Error('Conv: gradient only for dilation 1');
  // dx: stride 1 is a plain conv with the flipped, transposed kernel (measured faster than ConvTranspose).
  let dx: Tensor;
  const dxPads: [number, number, number, number] = [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr];
  if (s === 1 && dxPads.every((p) => p >= 0)) {
    const wT = transpose(flippedKernel(w), [1, 0, 2, 3]);
    dx = conv2d(dy, wT, undefined, { pad: dxPads });
  } else {
    if (pt !== pb || pl !== pr) throw new Error('Conv: gradient of a strided or over-padded conv only for symmetric padding');
    const outPad: [number, number] = [
      x.shape[2] - ((dy.shape[2] - 1) * s + kh - 2 * ph),
      x.shape[3] - ((dy.shape[3] - 1) * s + kw - 2 * pw),
    ];
    dx = convTranspose2d(dy, w, s, [ph, pw], outPad);
  }
  const dw = s === 1 ? weightGradientByMatmuls(x, dy, kh, kw, [pt, pl, pb, pr]) : weightGradientByConv(x, dy, kh, kw, ph, pw, s);
  const db = b ? reshape(reduceSum(dy, [0, 2, 3]), [b.shape[0]]) : undefined;
  return b ? [dx, dw, db] : [dx, dw];
});

/**
 * Largest padded NHWC copy of the input one dW computation materialises; bigger
 * batches are split into chunks whose partial dW are summed. The copy, its per-tap
 * windows and the transposed output gradient each scale with the chunk, so this
 * bounds the workspace (~3x this) that a large-batch conv's backward adds to peak
 * memory: unchunked, BigGAN-32 ch 64 with D's batch of 100 needed ~320 MB.
 */
let dwChunkBytes = 32 * 2 ** 20;

/** Builds graphs with another dW chunk bound (tests use tiny ones to exercise the chunked path); `build` may be async. */
export function withWeightGradientChunkBytes<T>(bytes: number, build: () => T): T {
  const saved = dwChunkBytes;
  dwChunkBytes = bytes;
  let result: T;
  try {
    result = build();
  } catch (e) {
    dwChunkBytes = saved;
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => (dwChunkBytes = saved)) as T;
  dwChunkBytes = saved;
  return result;
}

/**
 * dW of a stride-1 conv as one GEMM per kernel tap: dW[:, :, i, j] = dyᵀ · x shifted by (i, j),
 * with N·H·W as the reduction axis. onnxruntime runs these GEMMs about 3x faster than the
 * equivalent "conv over the batch axis" (measured on [16, 256, 32, 32]), and dW is the
 * largest part of a training step.
 */
function weightGradientByMatmuls(x: Tensor, dy: Tensor, kh: number, kw: number, pads: [number, number, number, number]): Tensor {
  const [n, c, h, w] = x.shape;
  const perImage = (h + pads[0] + pads[2]) * (w + pads[1] + pads[3]) * c * 4;
  const chunk = Math.max(1, Math.min(n, Math.floor(dwChunkBytes / perImage)));
  if (chunk >= n) return weightGradientChunk(x, dy, kh, kw, pads);
  let total: Tensor | null = null;
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const part = weightGradientChunk(batchRows(x, start, end), batchRows(dy, start, end), kh, kw, pads);
    total = total ? add(total, part) : part;
  }
  return total!;
}

/**
 * Images [start, end) of a batch, as a Gather: onnxruntime merges sibling Slices of
 * one tensor into a Split, which would materialise every chunk at once.
 */
function batchRows(x: Tensor, start: number, end: number): Tensor {
  return gather(x, x.graph.ints(Array.from({ length: end - start }, (_, i) => start + i)), 0);
}

function weightGradientChunk(x: Tensor, dy: Tensor, kh: number, kw: number, [pt, pl, pb, pr]: [number, number, number, number]): Tensor {
  const [n, c] = x.shape;
  const [, o, ho, wo] = dy.shape;
  const rows = n * ho * wo;
  const dyT = reshape(transpose(dy, [1, 0, 2, 3]), [o, rows]); // [O, N·Ho·Wo]
  let xN = transpose(x, [0, 2, 3, 1]); // NHWC, so a shifted window flattens to [rows, C]
  if (pt || pl || pb || pr) xN = pad(xN, [[0, 0], [pt, pb], [pl, pr], [0, 0]]);
  const taps: Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const window = sliceBox(xN, [[1, i, i + ho], [2, j, j + wo]]);
      taps.push(reshape(matmul(dyT, reshape(window, [rows, c])), [o, c, 1]));
    }
  }
  return reshape(concat(taps, 2), [o, c, kh, kw]);
}

/** dW of a strided conv: correlate the input with the output gradient, batch as the reduction axis. */
function weightGradientByConv(x: Tensor, dy: Tensor, kh: number, kw: number, ph: number, pw: number, s: number): Tensor {
  const xT = transpose(x, [1, 0, 2, 3]);
  const dyT = transpose(dy, [1, 0, 2, 3]);
  let dwT = conv2d(xT, dyT, undefined, { pad: [ph, pw], dilation: s });
  if (dwT.shape[2] !== kh) dwT = slice(dwT, 2, 0, kh);
  if (dwT.shape[3] !== kw) dwT = slice(dwT, 3, 0, kw);
  return transpose(dwT, [1, 0, 2, 3]);
}

let plainResampling = false;

/**
 * Builds graphs whose upsampleConv2d / convAvgPool2d take the plain form (upsample then conv,
 * conv then pool): the network's FLOPs as other frameworks execute it (the bench's reference
 * count), and an A/B switch for measurements.
 */
export function withPlainResampling<T>(build: () => T): T {
  const saved = plainResampling;
  plainResampling = true;
  try {
    return build();
  } finally {
    plainResampling = saved;
  }
}

/**
 * A smaller kernel whose taps are sums of w's taps: tap (r, c) of the result sums the taps
 * (i, j) of w with i in rowTaps[r] and j in colTaps[c], times `scale`. One MatMul of w as
 * [O·C, kh·kw] by a constant [kh·kw, rows·cols] 0/1 matrix: slicing and concatenating the
 * two tiny trailing axes instead copied a few floats per row, and their gradients (Pads of
 * the same shape) took ~170 ms of a BigGAN-128 D step for 512-channel weights.
 */
function summedTaps(w: Tensor, rowTaps: number[][], colTaps: number[][], scale = 1): Tensor {
  const [o, c, kh, kw] = w.shape;
  const cols = rowTaps.length * colTaps.length;
  const m = new Float32Array(kh * kw * cols);
  rowTaps.forEach((rows, r) => colTaps.forEach((cs, q) => rows.forEach((i) => cs.forEach((j) => (m[(i * kw + j) * cols + r * colTaps.length + q] = scale)))));
  const taps = matmul(reshape(w, [o * c, kh * kw]), w.graph.floats(m, [kh * kw, cols]));
  return reshape(taps, [o, c, rowTaps.length, colTaps.length]);
}

/**
 * conv2d(upsampleNearest(x, 2), w, bias, same padding), computed without the upsampled
 * tensor. A 1x1 conv commutes with nearest upsampling, so it runs at low resolution (4x
 * fewer FLOPs). For a 3x3 kernel, each of the four output phases (row parity a, column
 * parity b) sees only a 2x2 window of x, whose taps are sums of the 3x3 taps; four 2x2
 * convs at low resolution then do 16 instead of 36 multiply-adds per input pixel
 * (2.25x fewer FLOPs), and DepthToSpace interleaves the phases. Exact up to float
 * summation order: the phase kernels add up to two taps before multiplying.
 */
export function upsampleConv2d(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const [, , kh, kw] = w.shape;
  if (plainResampling) return conv2d(upsampleNearest(x, 2), w, bias, { pad: (kh - 1) / 2 });
  if (kh === 1 && kw === 1) return upsampleNearest(conv2d(x, w, bias), 2);
  if (kh !== 3 || kw !== 3) throw new Error(`upsampleConv2d: kernel ${kh}x${kw} not supported (1x1 or 3x3)`);
  // taps of the 3x3 kernel that land on each of a phase's two rows (columns): parity 0 reads
  // rows i-1 (tap 0) and i (taps 1, 2); parity 1 reads i (taps 0, 1) and i+1 (tap 2)
  const groups = [
    [[0], [1, 2]],
    [[0, 1], [2]],
  ];
  const phases: Tensor[] = [];
  for (const a of [0, 1]) {
    for (const b of [0, 1]) phases.push(conv2d(x, summedTaps(w, groups[a], groups[b]), bias, { pad: [1 - a, 1 - b, a, b] }));
  }
  return depthToSpace(concat(phases, 1), 2);
}

/**
 * avgPool2d(conv2d(x, w, bias, same padding), 2), computed at low resolution. A 1x1 conv
 * commutes with average pooling (4x fewer FLOPs). For a 3x3 kernel, each output pixel reads
 * each of the input's four parity subgrids (row parity p, column parity q) through a 2x2
 * window whose taps are sums of the 3x3 taps; four stride-1 2x2 convs over the subgrids
 * (SpaceToDepth's channel groups), summed, do 16 instead of 36 multiply-adds per output
 * pixel (2.25x fewer FLOPs), with backward passes that stay stride-1 convs and GEMMs.
 */
export function convAvgPool2d(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const [, c, h, wd] = x.shape;
  const [, , kh, kw] = w.shape;
  if (h % 2 || wd % 2) throw new Error(`convAvgPool2d: ${x} has an odd size`);
  if (plainResampling) return avgPool2d(conv2d(x, w, bias, { pad: (kh - 1) / 2 }), 2);
  if (kh === 1 && kw === 1) return conv2d(avgPool2d(x, 2), w, bias);
  if (kh !== 3 || kw !== 3) throw new Error(`convAvgPool2d: kernel ${kh}x${kw} not supported (1x1 or 3x3)`);
  // parity 0 reads subgrid rows i (taps 0, 1) and i+1 (tap 2); parity 1 reads i-1 (tap 0) and i (taps 1, 2)
  const groups = [
    [[0, 1], [2]],
    [[0], [1, 2]],
  ];
  const subgrids = split(spaceToDepth(x, 2), 1, [c, c, c, c]); // group p·2 + q holds x[:, :, p::2, q::2]
  let out: Tensor | undefined;
  for (const p of [0, 1]) {
    for (const q of [0, 1]) {
      const k = summedTaps(w, groups[p], groups[q], 0.25); // the pool's 1/4 folded in
      const part = conv2d(subgrids[p * 2 + q], k, undefined, { pad: [p, q, 1 - p, 1 - q] });
      out = out ? add(out, part) : part;
    }
  }
  return bias ? add(out!, reshape(bias, [1, bias.shape[0], 1, 1])) : out!;
}

/**
 * conv2d(x, w, bias, { stride: 2, pad: 1 }) for a 4x4 kernel (SNDCGAN D's "SAME" downsampling
 * convs) as four stride-1 2x2 convs over the input's parity subgrids, summed (convAvgPool2d's
 * structure): output row i reads input rows 2i-1 .. 2i+2 through taps 0..3, i.e. rows i and i+1
 * of the even subgrid (taps 1, 3) and rows i-1 and i of the odd one (taps 0, 2); SpaceToDepth
 * of the kernel holds exactly those tap pairs. The same multiply-adds; the gradients become
 * stride-1 convs and per-tap GEMMs instead of an ONNX ConvTranspose (dx) and a dilated conv
 * over the batch axis (dW), which onnxruntime runs slower.
 */
export function stridedConv2d(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const [, c, h, wd] = x.shape;
  const [, , kh, kw] = w.shape;
  if (kh !== 4 || kw !== 4) throw new Error(`stridedConv2d: kernel ${kh}x${kw} not supported (4x4)`);
  if (h % 2 || wd % 2) throw new Error(`stridedConv2d: ${x} has an odd size`);
  if (plainResampling) return conv2d(x, w, bias, { stride: 2, pad: 1 });
  const subgrids = split(spaceToDepth(x, 2), 1, [c, c, c, c]); // group p·2 + q holds x[:, :, p::2, q::2]
  let out: Tensor | undefined;
  for (const p of [0, 1]) {
    for (const q of [0, 1]) {
      // subgrid (p, q) meets taps 1-p, 3-p by 1-q, 3-q
      const k = summedTaps(w, [[1 - p], [3 - p]], [[1 - q], [3 - q]]);
      const part = conv2d(subgrids[p * 2 + q], k, undefined, { pad: [p, q, 1 - p, 1 - q] });
      out = out ? add(out, part) : part;
    }
  }
  return bias ? add(out!, reshape(bias, [1, bias.shape[0], 1, 1])) : out!;
}

/** The kernel rotated by 180 degrees (both spatial axes reversed), as a tap permutation: a reversing Slice copied one float per step. */
function flippedKernel(w: Tensor): Tensor {
  const [, , kh, kw] = w.shape;
  const reversed = (k: number): number[] => Array.from({ length: k }, (_, i) => k - 1 - i);
  return pickTaps(w, reversed(kh), reversed(kw));
}

/** Taps `rows` x `cols` of a kernel [O, C, kh, kw], as a smaller kernel (rows and columns in the order given). */
function pickTaps(w: Tensor, rows: number[], cols: number[]): Tensor {
  return summedTaps(w, rows.map((i) => [i]), cols.map((j) => [j]));
}

/**
 * conv2d(unpoolZeros(x), w, bias, pad 1) for a 3x3 kernel, at low resolution: of the nine taps
 * only those landing on non-zero pixels count, which per output phase (row parity a, column
 * parity b) are tap 1 alone for parity 0 (row i) and taps 0 and 2 for parity 1 (rows i and i+1).
 * The four phase convs (1x1, 1x2, 2x1, 2x2) do 9 instead of 36 multiply-adds per input pixel;
 * DepthToSpace interleaves them. Exact: the skipped products are products with zero.
 */
export function unpoolConv2d(x: Tensor, w: Tensor, bias?: Tensor): Tensor {
  const [, , kh, kw] = w.shape;
  if (kh !== 3 || kw !== 3) throw new Error(`unpoolConv2d: kernel ${kh}x${kw} not supported (3x3)`);
  if (plainResampling) return conv2d(unpoolZeros(x), w, bias, { pad: 1 });
  const taps = [[1], [0, 2]];
  const phases: Tensor[] = [];
  for (const a of [0, 1]) {
    for (const b of [0, 1]) phases.push(conv2d(x, pickTaps(w, taps[a], taps[b]), bias, { pad: [0, 0, a, b] }));
  }
  return depthToSpace(concat(phases, 1), 2);
}

/**
 * Transposed convolution (torch ConvTranspose2d, TF conv2d_transpose with "SAME" padding),
 * weight [C_in, C_out, k, k], in the two forms the GAN-landscape SNDCGAN generator uses, written
 * as stride-1 convolutions (ConvTranspose has no gradient rule here):
 *  - stride 1, odd k, pad (k-1)/2: the conv with the flipped, transposed kernel;
 *  - k 4, stride 2, pad 1 (doubles the size): output row 2i reads input rows i-1 and i through
 *    taps 3 and 1, row 2i+1 rows i and i+1 through taps 2 and 0 (columns alike), so each of the
 *    four output phases is a 2x2 conv of x, interleaved by DepthToSpace: no products with the
 *    zeros a stride-2 transposed conv inserts.
 */
export function transposedConv2d(x: Tensor, w: Tensor, bias: Tensor | undefined, stride: 1 | 2): Tensor {
  const [, , kh, kw] = w.shape;
  if (x.shape[1] !== w.shape[0]) throw new Error(`transposedConv2d: input ${x} has ${x.shape[1]} channels, weight ${w} expects ${w.shape[0]}`);
  const wT = transpose(w, [1, 0, 2, 3]); // [C_out, C_in, k, k]
  if (stride === 1) {
    if (kh !== kw || kh % 2 !== 1) throw new Error(`transposedConv2d: stride 1 needs an odd square kernel, got ${kh}x${kw}`);
    return conv2d(x, flippedKernel(wT), bias, { pad: (kh - 1) / 2 });
  }
  if (kh !== 4 || kw !== 4) throw new Error(`transposedConv2d: stride 2 needs a 4x4 kernel, got ${kh}x${kw}`);
  const taps = [[3, 1], [2, 0]];
  const phases: Tensor[] = [];
  for (const a of [0, 1]) {
    for (const b of [0, 1]) phases.push(conv2d(x, pickTaps(wT, taps[a], taps[b]), bias, { pad: [1 - a, 1 - b, a, b] }));
  }
  return depthToSpace(concat(phases, 1), 2);
}

registerVjp('ConvTranspose', () => {
  throw new Error('ConvTranspose: no gradient rule (only used inside gradients)');
});

/**
 * conv2d(x, w, bias, { stride, pad }) with "same"-style symmetric padding as one GEMM
 * (im2col): the padded input in NHWC, its kh·kw shifted windows (strided ones read through a
 * [N, H/s, s, W/s, s, C] view, so every window is a unit-step Slice) concatenated on channels
 * into [N·Ho·Wo, kh·kw·C], times the kernel as [kh·kw·C, O]. For small maps this beats
 * onnxruntime's NCHWc conv kernels, which run far under its MatMul there; dW is the
 * transposed GEMM and dx the windows' adjoints (pads) summed. The same multiply-adds.
 */
export function gemmConv2d(x: Tensor, w: Tensor, bias: Tensor | undefined, stride: 1 | 2, padding: number): Tensor {
  const [n, c, h, wd] = x.shape;
  const [o, ci, kh, kw] = w.shape;
  if (c !== ci) throw new Error(`gemmConv2d: input ${x} has ${c} channels, weight ${w} expects ${ci}`);
  const s = stride;
  const ho = Math.floor((h + 2 * padding - kh) / s) + 1;
  const wo = Math.floor((wd + 2 * padding - kw) / s) + 1;
  // padded rows/columns: enough for every window, a multiple of the stride (the extra ones are never read)
  const hp = s * Math.ceil(Math.max(h + 2 * padding, (ho - 1) * s + kh) / s);
  const wp = s * Math.ceil(Math.max(wd + 2 * padding, (wo - 1) * s + kw) / s);
  let xN = transpose(x, [0, 2, 3, 1]);
  if (padding || hp !== h || wp !== wd) xN = pad(xN, [[0, 0], [padding, hp - h - padding], [padding, wp - wd - padding], [0, 0]]);
  const view = s === 1 ? xN : reshape(xN, [n, hp / s, s, wp / s, s, c]);
  const windows: Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      if (s === 1) windows.push(sliceBox(view, [[1, i, i + ho], [2, j, j + wo]]));
      else {
        const bi = Math.floor(i / s);
        const bj = Math.floor(j / s);
        const win = sliceBox(view, [[1, bi, bi + ho], [2, i % s, (i % s) + 1], [3, bj, bj + wo], [4, j % s, (j % s) + 1]]);
        windows.push(reshape(win, [n, ho, wo, c]));
      }
    }
  }
  const cols = reshape(concat(windows, 3), [n * ho * wo, kh * kw * c]);
  // the kernel as [O, kh·kw·C] in the windows' (i, j, c) order; a one-axis move, which onnxruntime
  // transposes fast (the 4-d [kh, kw, C, O] permutation ran several times slower), then B transposed
  const wm = reshape(transpose(reshape(w, [o, c, kh * kw]), [0, 2, 1]), [o, kh * kw * c]);
  let y = matmul(cols, transpose(wm, [1, 0]));
  if (bias) y = add(y, bias);
  return transpose(reshape(y, [n, ho, wo, o]), [0, 3, 1, 2]);
}
