/**
 * What a generator is fed for a sampling request (platform-neutral): latents
 * with the truncation trick, class vectors from class ids / names / soft
 * vectors, and sheet labels. `biggan sample`, the library's `Generator.sample`
 * and the browser all go through `sampleInputs`, so a seed, class list and
 * truncation give the same images everywhere.
 */
import { UserError } from '../errors.js';
import { Rng } from '../random/rng.js';
import type { ArrayView } from '../io/ndarray.js';
import { argmaxRows, classLabel, classVectorsFrom, floatRows, oneHotVectors, resolveClasses } from './class-lookup.js';
import { checkTruncation, sampleLatents, type LatentStyle } from './latents.js';

/** What a sampler needs to know about a generator without loading it. */
export interface GeneratorInfo {
  /** The architecture (models/architectures.ts names: biggan, biggan-deep, sndcgan, resnet19, resnet-cifar). */
  kind: string;
  resolution: number;
  zDim: number;
  numClasses: number;
  /** BigGAN-deep: the truncation value is a network input (it selects BN statistics). */
  usesTruncation: boolean;
  classNames?: string[];
}

/** How latents are truncated: BigGAN-deep scales a [-2, 2] normal; BigGAN resamples |z| > t. */
export function latentStyle(info: Pick<GeneratorInfo, 'usesTruncation'>): LatentStyle {
  return info.usesTruncation ? 'scaled' : 'threshold';
}

export interface SampleInputOptions {
  /** Number of images (default: rows of z / classVector, else the number of classes given, else 8). */
  n?: number;
  /** Seed of the latents and of random classes (default 0). */
  seed?: number;
  /** BigGAN-deep: (0, 1], scales z and selects BN statistics (default 1); BigGAN: resample |z| > t (default: none). */
  truncation?: number;
  /** Per-image classes as ids, names or WordNet ids, cycled to n (default: random classes). */
  classes?: readonly (string | number)[];
  /** Exact latents [N, zDim], used as given. */
  z?: ArrayView;
  /** Class vectors [N, numClasses] (soft or mixed classes allowed). */
  classVector?: ArrayView;
}

/** How the options are called where the user wrote them (flags for the CLI), for error messages. */
export interface InputNames {
  n: string;
  z: string;
  classVector: string;
  classes: string;
  truncation: string;
}

export const API_NAMES: InputNames = { n: 'n', z: 'z', classVector: 'classVector', classes: 'classes', truncation: 'truncation' };

export interface SampleInputs {
  n: number;
  /** [n, zDim] */
  z: Float32Array;
  /** [n, numClasses] */
  classVectors: Float32Array;
  /** The truncation value fed to the network (BigGAN-deep), 1 when not given. */
  truncation: number;
  /** Each image's class (the dominant one of a soft vector). */
  classIds: number[];
  /** Each image's label for sheets. */
  labels: string[];
}

/** Latents, class vectors and labels for a request, exactly as `biggan sample` draws them. */
export function sampleInputs(info: GeneratorInfo, opts: SampleInputOptions, names: InputNames = API_NAMES): SampleInputs {
  const { zDim: Z, numClasses: C } = info;
  if (opts.n !== undefined && !(Number.isInteger(opts.n) && opts.n > 0)) throw new UserError(`${names.n} must be a positive integer, got ${opts.n}`);
  if (opts.seed !== undefined && !(Number.isInteger(opts.seed) && opts.seed >= 0)) throw new UserError(`seed must be a non-negative integer, got ${opts.seed}`);
  if (opts.truncation !== undefined) checkTruncation(opts.truncation, info.usesTruncation, names.truncation);
  if (opts.classVector && opts.classes) throw new UserError(`give either ${names.classVector} or ${names.classes}, not both`);
  const rng = new Rng(opts.seed ?? 0);

  const given = opts.z ? floatRows(opts.z, Z, names.z, 'latents') : undefined;
  const cv = opts.classVector ? classVectorsFrom(opts.classVector, C, names.classVector) : undefined;
  const classIds = opts.classes ? resolveClasses(opts.classes, C, info.classNames) : undefined;

  const declared = [given?.n, cv?.n].filter((v): v is number => v !== undefined);
  if (given && cv && given.n !== cv.n) throw new UserError(`${names.z} has ${given.n} rows but ${names.classVector} has ${cv.n}`);
  const n = opts.n ?? declared[0] ?? classIds?.length ?? 8;
  if (declared.length && declared[0] < n) throw new UserError(`${names.n} ${n} asks for more images than the ${declared[0]} rows given`);

  const z = given ? given.rows.subarray(0, n * Z) : sampleLatents(n, Z, opts.truncation, latentStyle(info), rng);
  let ids: number[];
  let vectors: Float32Array;
  if (cv) {
    vectors = cv.vectors.subarray(0, n * C);
    ids = argmaxRows(vectors, C);
  } else {
    ids = classIds ? Array.from({ length: n }, (_, i) => classIds[i % classIds.length]) : Array.from({ length: n }, () => rng.int(C));
    vectors = oneHotVectors(ids, C);
  }
  return { n, z, classVectors: vectors, truncation: opts.truncation ?? 1, classIds: ids, labels: ids.map((id) => classLabel(id, C, info.classNames)) };
}
