/**
 * biggan-ts/core: the platform-neutral part of the library — nothing here
 * imports `node:*`, onnxruntime-node or sharp, so a browser bundle can use it.
 * Class names and lookup, seeded latents with the truncation trick, the inputs a
 * sampling request feeds the generator (the same numbers as `biggan sample`),
 * interpolation, the metric maths on arrays, model configs and array types.
 */
export { UserError } from './errors.js';
export { Rng } from './random/rng.js';

// arrays
export type { ArrayView, DType, NdArray, TypedData } from './io/ndarray.js';

// classes
export {
  type ClassName, IMAGENET_NUM_CLASSES, imagenetClasses, searchImagenetClasses, classLabel, lookupClassName, resolveClasses, parseClassList,
  oneHotVectors, argmaxRows,
} from './sample/class-lookup.js';

// latents, truncation, sampling inputs, interpolation
export { type LatentStyle, sampleLatents, checkTruncation } from './sample/latents.js';
export { type GeneratorInfo, type SampleInputOptions, type SampleInputs, sampleInputs, latentStyle } from './sample/sample-inputs.js';
export { type InterpolationKind, type InterpolationRequest, type InterpolationInputs, interpolationInputs } from './sample/interpolation.js';

// metric maths on arrays
export {
  type FeatureStatistics, type FrechetOptions, type InceptionScoreOptions, type KidOptions,
  featureStatistics, frechetInceptionDistance, inceptionScore, kernelInceptionDistance,
} from './metrics/array-metrics.js';

// model configs (the paper's architecture tables as data)
export {
  BIGGAN_RESOLUTIONS, type BigGANResolution, type BigGANGeneratorConfig, type BigGANDiscriminatorConfig, parseGeneratorArgs, parseDiscriminatorArgs,
} from './models/biggan-config.js';
export {
  type BigGanDeepConfig, type DeepLayerSpec, DEEP_G_LAYERS, PRETRAINED_DEEP_CONFIGS, bigGanDeepConfig, validateBigGanDeepConfig,
} from './models/biggan-deep-config.js';

// the browser explorer's state, breeding and site model (what web/explorer builds on)
export {
  type ClassWeight, type ImageState, type ExplorerState, type ImageInputs, type Backend,
  imageInputs, parseFragment, formatFragment, encodeLatents, decodeLatents, mixVector,
} from './explore/explorer-state.js';
export { type Genome, type MutateOptions, mutate, crossover } from './explore/breeding.js';
export { type SiteModel, parseSiteModel } from './explore/site-model.js';
export { type StatRowSelection, statRowSelection } from './nn/stat-row-selection.js';
