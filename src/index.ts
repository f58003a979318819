/**
 * biggan-ts: BigGAN and BigGAN-deep for Node.js — load the published checkpoints,
 * sample with the truncation trick, score with a discriminator, train with the
 * paper's recipe, evaluate with IS / FID / KID. Arrays cross as `{ data, shape }`.
 *
 *   import { loadGenerator, writeImageSheet } from 'biggan-ts';
 *   const G = await loadGenerator('biggan-deep-128-pytorch_model.bin');
 *   await writeImageSheet(await G.sample({ classes: ['golden retriever'], truncation: 0.4 }), 'dog.png');
 *   await G.dispose();
 *
 * The platform-neutral part is also `biggan-ts/core` (no Node imports).
 */
export * from './core.js';

export { type ArrayInput, readNpy, writeNpy, readNpz, writeNpz } from './api/arrays.js';
export { Generator, type Images, type LoadGeneratorOptions, type MemArena, type Prepack, type SampleOptions, type InterpolateOptions, loadGenerator } from './api/generator.js';
export { Discriminator, type DiscriminatorInfo, type LoadDiscriminatorOptions, type ScoreOptions, loadDiscriminator } from './api/discriminator.js';
export { type ImageSheetOptions, writeImageSheet } from './api/image-sheet.js';
export { type TrainOptions, type TrainFlagOptions, type ProgressInfo, type PhaseInfo, type EvalInfo, type TrainResult, type LatentDistribution, type OrthoVariant, train } from './api/train.js';
export { type EvaluateOptions, type EvaluationResult, type EvalMetric, type ClassSampling, type EpsOffsetPolicy, evaluate } from './api/evaluate.js';
export { Inception, type InceptionOutputs, type InceptionPipeline, type LoadInceptionOptions, loadInception, readStatsFile, writeStatsFile } from './api/evaluation.js';
export { packageVersion } from './package-info.js';
