/**
 * Inception-v3 in the form FID/IS use it: torchvision's Inception3 (1008 classes,
 * no aux head) with pytorch-fid's FID blocks (Mixed_5b..5d = A, 6b..6e = C,
 * 7b = E_1, 7c = E_2). Attribute paths equal the keys of the published
 * `pt_inception-2015-12-05-6726825d.pth`, so the weights load by name with no
 * layout mapping, and declaration order equals that module's state-dict order
 * (which the procedural weights are numbered by).
 *
 *   299x299x3 -> 1a (s2) -> 2a -> 2b (p1) -> maxpool 3 s2               block 0: 64 x 73 x 73
 *             -> 3b -> 4a -> maxpool 3 s2                                 block 1: 192 x 35 x 35
 *             -> 5b, 5c, 5d (A) -> 6a (B) -> 6b..6e (C)                   block 2: 768 x 17 x 17
 *             -> 7a (D) -> 7b (E_1) -> 7c (E_2) -> mean over 8x8          pool3: 2048
 *             -> fc                                                       logits: 1008
 *
 * Inference only: BN uses its running statistics (eps 0.001, TF's value), which
 * onnxruntime folds into the preceding convolution when weights are initializers.
 */
import { Param, Tensor } from '../../engine/graph.js';
import * as op from '../../engine/ops.js';
import { Module } from '../../nn/module.js';

export const INCEPTION_INPUT_SIZE = 299;
export const INCEPTION_POOL3_DIM = 2048;
export const INCEPTION_CLASSES = 1008;
/** Channels of blocks 0-2 (pytorch-fid's --dims 64 / 192 / 768). */
export const INCEPTION_BLOCK_DIMS = [64, 192, 768] as const;
const BN_EPS = 0.001;

type Pair = [number, number];
const pair = (v: number | Pair): Pair => (typeof v === 'number' ? [v, v] : v);

/** Holds the bias-free conv kernel as `conv.weight` [out, in, kh, kw]. */
class ConvKernel extends Module {
  weight: Param;
  constructor(inC: number, outC: number, [kh, kw]: Pair) {
    super();
    this.weight = Param.zeros('weight', [outC, inC, kh, kw], false);
  }
}

/** Eval-mode BatchNorm parameters, named as torch names them. */
class FrozenBatchNorm extends Module {
  weight: Param;
  bias: Param;
  running_mean: Param;
  running_var: Param;
  constructor(readonly channels: number) {
    super();
    this.weight = Param.filled('weight', [channels], 1, false);
    this.bias = Param.zeros('bias', [channels], false);
    this.running_mean = Param.zeros('running_mean', [channels], false);
    this.running_var = Param.filled('running_var', [channels], 1, false);
  }
  forward(x: Tensor): Tensor {
    const g = x.graph;
    return op.batchNormInference(x, g.param(this.weight), g.param(this.bias), g.param(this.running_mean), g.param(this.running_var), BN_EPS);
  }
}

/** relu(BN(conv(x))), conv without bias. */
export class BasicConv2d extends Module {
  conv: ConvKernel;
  bn: FrozenBatchNorm;
  readonly stride: number;
  readonly pad: Pair;
  constructor(
    readonly inC: number,
    readonly outC: number,
    kernel: number | Pair,
    opts: { stride?: number; pad?: number | Pair } = {},
  ) {
    super();
    this.conv = new ConvKernel(inC, outC, pair(kernel));
    this.bn = new FrozenBatchNorm(outC);
    this.stride = opts.stride ?? 1;
    this.pad = pair(opts.pad ?? 0);
  }
  forward(x: Tensor): Tensor {
    return op.relu(this.convBn(x));
  }
  /** BN(conv(x)), before the ReLU. */
  convBn(x: Tensor): Tensor {
    return this.bn.forward(op.conv2d(x, x.graph.param(this.conv.weight), undefined, { stride: this.stride, pad: this.pad }));
  }
  /**
   * relu(BN(conv(avgPool3(x)))) computed as relu(avgPool3(BN(conv(x)))): a 1x1 conv
   * and eval BN are per-pixel affine maps and the pool's weights sum to 1 at every
   * pixel (count_include_pad=False), so they commute; pooling the conv's fewer output
   * channels is up to 6x less pooling work (results differ only by float rounding).
   */
  forwardAfterAvgPool(x: Tensor): Tensor {
    if (this.conv.weight.shape[2] !== 1 || this.conv.weight.shape[3] !== 1 || this.stride !== 1) throw new Error('forwardAfterAvgPool: needs a 1x1 stride-1 conv');
    return op.relu(avgPool3(this.convBn(x)));
  }
}

/** x through a chain of convs. */
function chain(x: Tensor, ...convs: BasicConv2d[]): Tensor {
  return convs.reduce((h, c) => c.forward(h), x);
}

/** 3x3 s1 p1 average, dividing by the in-image pixel count (count_include_pad=False). */
const avgPool3 = (x: Tensor): Tensor => op.avgPool2d(x, 3, { stride: 1, pad: 1, countIncludePad: false });
/** 3x3 s2 max pool without padding. */
const maxPool3s2 = (x: Tensor): Tensor => op.maxPool2d(x, 3, { stride: 2 });
/** Branch outputs joined along channels, in branch order. */
const cat = (...branches: Tensor[]): Tensor => op.concat(branches, 1);

/** A: [1x1] [1x1 -> 5x5] [1x1 -> 3x3 -> 3x3] [avgpool -> 1x1]. */
class InceptionA extends Module {
  branch1x1: BasicConv2d;
  branch5x5_1: BasicConv2d;
  branch5x5_2: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;
  branch_pool: BasicConv2d;
  constructor(inC: number, poolFeatures: number) {
    super();
    this.branch1x1 = new BasicConv2d(inC, 64, 1);
    this.branch5x5_1 = new BasicConv2d(inC, 48, 1);
    this.branch5x5_2 = new BasicConv2d(48, 64, 5, { pad: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inC, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { pad: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { pad: 1 });
    this.branch_pool = new BasicConv2d(inC, poolFeatures, 1);
  }
  forward(x: Tensor): Tensor {
    return cat(
      this.branch1x1.forward(x),
      chain(x, this.branch5x5_1, this.branch5x5_2),
      chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2, this.branch3x3dbl_3),
      this.branch_pool.forwardAfterAvgPool(x),
    );
  }
}

/** B (grid reduction 35 -> 17): [3x3 s2] [1x1 -> 3x3 -> 3x3 s2] [maxpool s2]. */
class InceptionB extends Module {
  branch3x3: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;
  constructor(inC: number) {
    super();
    this.branch3x3 = new BasicConv2d(inC, 384, 3, { stride: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inC, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { pad: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { stride: 2 });
  }
  forward(x: Tensor): Tensor {
    return cat(this.branch3x3.forward(x), chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2, this.branch3x3dbl_3), maxPool3s2(x));
  }
}

/** C: [1x1] [1x1 -> 1x7 -> 7x1] [1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7] [avgpool -> 1x1]; c7 = inner width. */
class InceptionC extends Module {
  branch1x1: BasicConv2d;
  branch7x7_1: BasicConv2d;
  branch7x7_2: BasicConv2d;
  branch7x7_3: BasicConv2d;
  branch7x7dbl_1: BasicConv2d;
  branch7x7dbl_2: BasicConv2d;
  branch7x7dbl_3: BasicConv2d;
  branch7x7dbl_4: BasicConv2d;
  branch7x7dbl_5: BasicConv2d;
  branch_pool: BasicConv2d;
  constructor(inC: number, c7: number) {
    super();
    const row: [Pair, Pair] = [[1, 7], [0, 3]];
    const col: [Pair, Pair] = [[7, 1], [3, 0]];
    this.branch1x1 = new BasicConv2d(inC, 192, 1);
    this.branch7x7_1 = new BasicConv2d(inC, c7, 1);
    this.branch7x7_2 = new BasicConv2d(c7, c7, row[0], { pad: row[1] });
    this.branch7x7_3 = new BasicConv2d(c7, 192, col[0], { pad: col[1] });
    this.branch7x7dbl_1 = new BasicConv2d(inC, c7, 1);
    this.branch7x7dbl_2 = new BasicConv2d(c7, c7, col[0], { pad: col[1] });
    this.branch7x7dbl_3 = new BasicConv2d(c7, c7, row[0], { pad: row[1] });
    this.branch7x7dbl_4 = new BasicConv2d(c7, c7, col[0], { pad: col[1] });
    this.branch7x7dbl_5 = new BasicConv2d(c7, 192, row[0], { pad: row[1] });
    this.branch_pool = new BasicConv2d(inC, 192, 1);
  }
  forward(x: Tensor): Tensor {
    return cat(
      this.branch1x1.forward(x),
      chain(x, this.branch7x7_1, this.branch7x7_2, this.branch7x7_3),
      chain(x, this.branch7x7dbl_1, this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5),
      this.branch_pool.forwardAfterAvgPool(x),
    );
  }
}

/** D (grid reduction 17 -> 8): [1x1 -> 3x3 s2] [1x1 -> 1x7 -> 7x1 -> 3x3 s2] [maxpool s2]. */
class InceptionD extends Module {
  branch3x3_1: BasicConv2d;
  branch3x3_2: BasicConv2d;
  branch7x7x3_1: BasicConv2d;
  branch7x7x3_2: BasicConv2d;
  branch7x7x3_3: BasicConv2d;
  branch7x7x3_4: BasicConv2d;
  constructor(inC: number) {
    super();
    this.branch3x3_1 = new BasicConv2d(inC, 192, 1);
    this.branch3x3_2 = new BasicConv2d(192, 320, 3, { stride: 2 });
    this.branch7x7x3_1 = new BasicConv2d(inC, 192, 1);
    this.branch7x7x3_2 = new BasicConv2d(192, 192, [1, 7], { pad: [0, 3] });
    this.branch7x7x3_3 = new BasicConv2d(192, 192, [7, 1], { pad: [3, 0] });
    this.branch7x7x3_4 = new BasicConv2d(192, 192, 3, { stride: 2 });
  }
  forward(x: Tensor): Tensor {
    return cat(
      chain(x, this.branch3x3_1, this.branch3x3_2),
      chain(x, this.branch7x7x3_1, this.branch7x7x3_2, this.branch7x7x3_3, this.branch7x7x3_4),
      maxPool3s2(x),
    );
  }
}

/**
 * E: [1x1] [1x1 -> (1x3, 3x1)] [1x1 -> 3x3 -> (1x3, 3x1)] [pool -> 1x1].
 * E_1 (Mixed_7b) pools by 3x3 average; E_2 (Mixed_7c) by 3x3 s1 p1 MAX, a quirk of
 * the TF graph that pytorch-fid reproduces.
 */
class InceptionE extends Module {
  branch1x1: BasicConv2d;
  branch3x3_1: BasicConv2d;
  branch3x3_2a: BasicConv2d;
  branch3x3_2b: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3a: BasicConv2d;
  branch3x3dbl_3b: BasicConv2d;
  branch_pool: BasicConv2d;
  constructor(
    inC: number,
    private readonly pool: 'avg' | 'max',
  ) {
    super();
    this.branch1x1 = new BasicConv2d(inC, 320, 1);
    this.branch3x3_1 = new BasicConv2d(inC, 384, 1);
    this.branch3x3_2a = new BasicConv2d(384, 384, [1, 3], { pad: [0, 1] });
    this.branch3x3_2b = new BasicConv2d(384, 384, [3, 1], { pad: [1, 0] });
    this.branch3x3dbl_1 = new BasicConv2d(inC, 448, 1);
    this.branch3x3dbl_2 = new BasicConv2d(448, 384, 3, { pad: 1 });
    this.branch3x3dbl_3a = new BasicConv2d(384, 384, [1, 3], { pad: [0, 1] });
    this.branch3x3dbl_3b = new BasicConv2d(384, 384, [3, 1], { pad: [1, 0] });
    this.branch_pool = new BasicConv2d(inC, 192, 1);
  }
  forward(x: Tensor): Tensor {
    const b3 = this.branch3x3_1.forward(x);
    const bd = chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2);
    // max pool pads with -inf in ONNX, so padding never wins (as in torch)
    const pool = this.pool === 'avg' ? this.branch_pool.forwardAfterAvgPool(x) : this.branch_pool.forward(op.maxPool2d(x, 3, { stride: 1, pad: 1 }));
    // torch concatenates (2a, 2b) and (3a, 3b) first; one flat concat gives the same order
    return cat(
      this.branch1x1.forward(x),
      this.branch3x3_2a.forward(b3),
      this.branch3x3_2b.forward(b3),
      this.branch3x3dbl_3a.forward(bd),
      this.branch3x3dbl_3b.forward(bd),
      pool,
    );
  }
}

/** The classifier: `fc.weight` [1008, 2048], `fc.bias` [1008]. */
class Classifier extends Module {
  weight: Param;
  bias: Param;
  constructor(inF: number, outF: number) {
    super();
    this.weight = Param.zeros('weight', [outF, inF], false);
    this.bias = Param.zeros('bias', [outF], false);
  }
}

export interface InceptionOutputs {
  /** Blocks 0-2 (NCHW maps); pytorch-fid's dims 64/192/768 features are their spatial means. */
  blocks: [Tensor, Tensor, Tensor];
  /** [N, 2048]: mean of the last 8x8 map (pytorch-fid's default features, torch-fidelity '2048'). */
  pool3: Tensor;
  /** [N, 1008] pool3 @ fc.weight^T: torch-fidelity 'logits_unbiased', the Inception Score input. */
  logitsUnbiased: Tensor;
  /** [N, 1008] with fc.bias added: torch-fidelity 'logits'. */
  logits: Tensor;
}

export class InceptionV3 extends Module {
  // block 0
  Conv2d_1a_3x3 = new BasicConv2d(3, 32, 3, { stride: 2 });
  Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
  Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, { pad: 1 });
  // block 1
  Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
  Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
  // block 2
  Mixed_5b = new InceptionA(192, 32);
  Mixed_5c = new InceptionA(256, 64);
  Mixed_5d = new InceptionA(288, 64);
  Mixed_6a = new InceptionB(288);
  Mixed_6b = new InceptionC(768, 128);
  Mixed_6c = new InceptionC(768, 160);
  Mixed_6d = new InceptionC(768, 160);
  Mixed_6e = new InceptionC(768, 192);
  // block 3
  Mixed_7a = new InceptionD(768);
  Mixed_7b = new InceptionE(1280, 'avg');
  Mixed_7c = new InceptionE(2048, 'max');
  fc = new Classifier(INCEPTION_POOL3_DIM, INCEPTION_CLASSES);

  constructor() {
    super();
    this.nameParams();
  }

  /** x: [N, 3, 299, 299] float32, already preprocessed (see preprocess.ts). */
  forward(x: Tensor): InceptionOutputs {
    op.expectShape(x, [null, 3, INCEPTION_INPUT_SIZE, INCEPTION_INPUT_SIZE], 'Inception input');
    const g = x.graph;
    const n = x.shape[0];
    const block0 = g.withScope('block0', () => maxPool3s2(chain(x, this.Conv2d_1a_3x3, this.Conv2d_2a_3x3, this.Conv2d_2b_3x3)));
    op.expectShape(block0, [n, 64, 73, 73], 'Inception block 0');
    const block1 = g.withScope('block1', () => maxPool3s2(chain(block0, this.Conv2d_3b_1x1, this.Conv2d_4a_3x3)));
    op.expectShape(block1, [n, 192, 35, 35], 'Inception block 1');
    const block2 = g.withScope('block2', () =>
      [this.Mixed_5b, this.Mixed_5c, this.Mixed_5d, this.Mixed_6a, this.Mixed_6b, this.Mixed_6c, this.Mixed_6d, this.Mixed_6e].reduce(
        (h, m) => m.forward(h),
        block1,
      ),
    );
    op.expectShape(block2, [n, 768, 17, 17], 'Inception block 2');
    const last = g.withScope('block3', () => [this.Mixed_7a, this.Mixed_7b, this.Mixed_7c].reduce((h, m) => m.forward(h), block2));
    op.expectShape(last, [n, 2048, 8, 8], 'Inception block 3');
    const pool3 = op.reduceMean(last, [2, 3]);
    const logitsUnbiased = op.matmul(pool3, op.transposeLast2(g.param(this.fc.weight)));
    const logits = op.add(logitsUnbiased, g.param(this.fc.bias));
    return { blocks: [block0, block1, block2], pool3, logitsUnbiased, logits };
  }
}
