/**
 * Training batches from a prepared dataset.
 *
 * Each epoch visits the images in a fresh seeded random order; batches have a
 * fixed size and the last partial batch of an epoch is dropped. Pixels become
 * float32 NCHW in [-1, 1] exactly as torchvision's ToTensor + Normalize(0.5, 0.5)
 * computes them in float32: ((x / 255) - 0.5) / 0.5. Labels are int64.
 *
 * Optional horizontal flips (off by default) are drawn per image, per epoch.
 *
 * Determinism and resume: all randomness of an epoch (its permutation, then its
 * flip bits) is drawn from the loader's Rng at the start of the epoch. state()
 * records the Rng state from *before* that draw plus the epoch number and the
 * position inside the epoch; a loader restored from it redraws the same
 * permutation and flips and continues with exactly the batch the saved run would
 * have produced next. The state is plain JSON.
 */
import { UserError } from '../errors.js';
import { Rng } from '../random/rng.js';
import type { PreparedDataset } from './prepared/prepared-set.js';

export interface BatchLoaderOptions {
  batchSize: number;
  /** Seed of the data order (and flips). */
  seed: number;
  /** Random horizontal flips with probability 1/2. Default false. */
  flip?: boolean;
}

/** A loader position, saved in checkpoints. */
export interface LoaderState {
  version: 1;
  /** Epochs started so far minus one: the epoch the next batch comes from. */
  epoch: number;
  /** Next batch index within the epoch. */
  batch: number;
  /** Rng state (4 x uint32) at the start of `epoch`, before its permutation was drawn. */
  epochRng: number[];
  batchSize: number;
  flip: boolean;
  /** Dataset size the order was drawn for (a resume on different data is refused). */
  count: number;
}

export interface Batch {
  /** [batchSize, 3, R, R] float32 in [-1, 1]. */
  images: Float32Array;
  /** [batchSize] int64 class ids. */
  labels: BigInt64Array;
  /** Dataset indices of the batch's images, in order. */
  indices: Int32Array;
  epoch: number;
  /** Index of this batch within its epoch. */
  batch: number;
}

/** byte -> float32 exactly as torchvision: Normalize(ToTensor(x)) with mean = std = 0.5. */
const TO_UNIT = (() => {
  const t = new Float32Array(256);
  for (let v = 0; v < 256; v++) t[v] = Math.fround(Math.fround(Math.fround(v / 255) - 0.5) / 0.5);
  return t;
})();

/** Converts one HWC uint8 RGB image into CHW float32 [-1, 1] at `out[offset..]`, optionally mirrored left-right. */
export function imageToNCHW(hwc: Uint8Array, size: number, out: Float32Array, offset: number, flip = false): void {
  const plane = size * size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const s = (y * size + (flip ? size - 1 - x : x)) * 3;
      const d = offset + y * size + x;
      out[d] = TO_UNIT[hwc[s]!]!;
      out[d + plane] = TO_UNIT[hwc[s + 1]!]!;
      out[d + 2 * plane] = TO_UNIT[hwc[s + 2]!]!;
    }
  }
}

export class BatchLoader {
  readonly batchSize: number;
  readonly flip: boolean;
  /** Full batches per epoch (floor(count / batchSize)). */
  readonly batchesPerEpoch: number;
  private rng: Rng;
  private epoch = 0;
  private batch = 0;
  private epochRng: Uint32Array;
  private order: Int32Array | null = null;
  private flips: Uint8Array | null = null;
  private readonly scratch: Uint8Array;

  constructor(private readonly dataset: PreparedDataset, opts: BatchLoaderOptions, state?: LoaderState) {
    const { batchSize } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`batch size must be a positive integer, got ${batchSize}`);
    if (dataset.count < batchSize) {
      throw new UserError(`the dataset has ${dataset.count} images, fewer than one batch of ${batchSize}`);
    }
    this.batchSize = batchSize;
    this.flip = !!opts.flip;
    this.batchesPerEpoch = Math.floor(dataset.count / batchSize);
    this.scratch = new Uint8Array(dataset.imageBytes);
    this.rng = new Rng(opts.seed);
    this.epochRng = this.rng.state();
    if (state) this.restore(state);
  }

  /** The epoch of the next batch. */
  get currentEpoch(): number {
    return this.epoch;
  }

  /** The position to save; restoring it continues with the very next batch. */
  state(): LoaderState {
    return {
      version: 1,
      epoch: this.epoch,
      batch: this.batch,
      epochRng: Array.from(this.epochRng),
      batchSize: this.batchSize,
      flip: this.flip,
      count: this.dataset.count,
    };
  }

  /** Moves to a saved position (see state()). */
  restore(s: LoaderState): void {
    if (s.version !== 1 || !Array.isArray(s.epochRng) || s.epochRng.length !== 4) throw new UserError('the saved data-loader state is not valid');
    if (s.count !== this.dataset.count) {
      throw new UserError(`the saved data order is for ${s.count} images, but the dataset has ${this.dataset.count}; resume with the same data`);
    }
    if (s.batchSize !== this.batchSize) throw new UserError(`the saved data order is for batch size ${s.batchSize}, not ${this.batchSize}`);
    if (s.flip !== this.flip) throw new UserError(`the saved data order was made with flip ${s.flip ? 'on' : 'off'}; use the same setting`);
    if (!Number.isInteger(s.batch) || s.batch < 0 || s.batch > this.batchesPerEpoch || !Number.isInteger(s.epoch) || s.epoch < 0) {
      throw new UserError('the saved data-loader state is not valid');
    }
    this.epochRng = Uint32Array.from(s.epochRng.map((v) => v >>> 0));
    this.rng = new Rng(Uint32Array.from(this.epochRng));
    this.epoch = s.epoch;
    this.batch = s.batch;
    this.order = null;
    this.flips = null;
  }

  /** Draws the current epoch's order and flips from the rng (which is at the epoch's start state). */
  private startEpoch(): void {
    this.order = this.rng.permutation(this.dataset.count);
    if (this.flip) {
      const f = new Uint8Array(this.dataset.count);
      for (let i = 0; i < f.length; i++) f[i] = this.rng.nextUint32() >>> 31;
      this.flips = f;
    } else {
      this.flips = null;
    }
  }

  /** The next batch (moving into a new, reshuffled epoch when the current one is used up). */
  next(): Batch {
    const batch = this.take();
    const B = this.batchSize;
    const R = this.dataset.resolution;
    const per = 3 * R * R;
    const images = new Float32Array(B * per);
    const labels = new BigInt64Array(B);
    const indices = new Int32Array(B);
    for (let k = 0; k < B; k++) {
      const pos = batch * B + k;
      const idx = this.order![pos]!;
      indices[k] = idx;
      labels[k] = BigInt(this.dataset.labels[idx]!);
      const hwc = this.dataset.readImage(idx, this.scratch);
      imageToNCHW(hwc, R, images, k * per, this.flips ? this.flips[pos] === 1 : false);
    }
    return { images, labels, indices, epoch: this.epoch, batch };
  }

  /**
   * Moves past the next batch without reading it, exactly as next() would: a data-parallel
   * rank skips the micro-batches of the other ranks, so every rank's loader (and the
   * checkpoint's loader state) stays where one process's would be.
   */
  skip(): void {
    this.take();
  }

  /** Index (within its epoch) of the next batch, advancing past it; starts a new epoch when this one is used up. */
  private take(): number {
    if (this.batch >= this.batchesPerEpoch) {
      if (!this.order) this.startEpoch(); // restored exactly at an epoch's end: replay its draws first
      this.epoch++;
      this.batch = 0;
      this.epochRng = this.rng.state();
      this.order = null;
    }
    if (!this.order) this.startEpoch();
    return this.batch++;
  }
}
