/**
 * The discriminator as a library object: logits (higher = more real) for images
 * and their classes, from BigGAN-PyTorch D.pth files or our checkpoints.
 */
import { UserError } from '../errors.js';
import { discriminate } from '../discriminate/runner.js';
import { loadDiscriminator as loadDiscriminatorModel } from '../models/checkpoint.js';
import type { DiscriminatorModel } from '../models/interfaces.js';
import type { ArrayView } from '../io/ndarray.js';
import { resolveClasses } from '../sample/class-lookup.js';
import { imagesAsNchw } from '../discriminate/image-layout.js';

export interface DiscriminatorInfo {
  /** The architecture (models/architectures.ts names: biggan, biggan-deep, sndcgan, resnet19, resnet-cifar). */
  kind: string;
  resolution: number;
  numClasses: number;
  classNames?: string[];
}

export interface LoadDiscriminatorOptions {
  /** JSON with a "D" object of BigGAN-PyTorch constructor args (default: beside the weights). */
  config?: string;
  threads?: number;
}

export interface ScoreOptions {
  batch?: number;
  onProgress?: (done: number, total: number) => void;
}

export class Discriminator {
  readonly info: DiscriminatorInfo;

  /** Use `loadDiscriminator`. */
  constructor(private readonly model: DiscriminatorModel, classNames: string[] | undefined, private readonly threads?: number) {
    this.info = { kind: model.kind, resolution: model.resolution, numClasses: model.numClasses, ...(classNames ? { classNames } : {}) };
  }

  /**
   * Logits [N] for images (float NCHW in [-1, 1], or uint8 NHWC / NCHW in [0, 255])
   * and one class per image (ids, names or WordNet ids, or an int array [N]).
   * `what` names the images in error messages (e.g. their file).
   */
  async score(images: ArrayView, classes: readonly (string | number)[] | ArrayView, opts: ScoreOptions = {}, what = 'images'): Promise<{ dtype: 'float32'; data: Float32Array; shape: [number] }> {
    const x = imagesAsNchw(images, this.model.resolution, what);
    const n = x.length / (3 * this.model.resolution ** 2);
    const list = Array.isArray(classes) ? (classes as readonly (string | number)[]) : Array.from((classes as ArrayView).data as ArrayLike<number | bigint>, Number);
    if (!Array.isArray(classes) && (classes as ArrayView).shape.length !== 1) throw new UserError(`classes must be 1-d, got shape [${(classes as ArrayView).shape}]`);
    if (list.length !== n) throw new UserError(`expected ${n} classes (one per image), got ${list.length}`);
    const ids = resolveClasses(list, this.model.numClasses, this.info.classNames);
    const batch = opts.batch ?? 16;
    if (!(Number.isInteger(batch) && batch > 0)) throw new UserError(`batch must be a positive integer, got ${batch}`);
    const data = await discriminate(this.model, x, BigInt64Array.from(ids, (v) => BigInt(v)), batch, { threads: this.threads }, (d) => opts.onProgress?.(d, n));
    return { dtype: 'float32', data, shape: [n] };
  }
}

/** Opens a discriminator checkpoint (BigGAN-PyTorch D.pth, or one of our checkpoints). */
export async function loadDiscriminator(weights: string, options: LoadDiscriminatorOptions = {}): Promise<Discriminator> {
  if (typeof weights !== 'string') throw new UserError('loadDiscriminator: weights must be a file path');
  const { model, classNames } = loadDiscriminatorModel(weights, options.config);
  return new Discriminator(model, classNames, options.threads);
}
