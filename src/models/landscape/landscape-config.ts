/**
 * The configuration of a GAN-landscape network (SNDCGAN, ResNet19, ResNet CIFAR), as
 * stored in our checkpoints' model specs, and its checked reading from JSON. The layer
 * tables are fixed by the architecture; `ch` scales their widths (the study's models are
 * each architecture's default ch).
 */
import { JsonFields } from '../json-fields.js';
import { D_NORMS, type DNorm } from './d-layers.js';

export interface LandscapeGeneratorConfig {
  resolution: number;
  /** Width multiplier of the layer table. */
  ch: number;
  zDim: number;
  /** Classes of the class input; 1 when unconditional. */
  numClasses: number;
  /** Class-conditional BN (per-class gain/bias tables); false: plain BN, class input ignored (the study). */
  conditional: boolean;
  bnEps: number;
}

export interface LandscapeDiscriminatorConfig {
  resolution: number;
  ch: number;
  numClasses: number;
  /** Projection term <embed(y), features> added to the logit; false: none (the study). */
  conditional: boolean;
  norm: DNorm;
  snEps: number;
}

function classes(f: JsonFields): { numClasses: number; conditional: boolean } {
  const numClasses = f.int('numClasses', 1);
  const conditional = f.bool('conditional');
  if (!conditional && numClasses !== 1) f.fail(`an unconditional model has numClasses 1, got ${numClasses}`);
  return { numClasses, conditional };
}

export function readLandscapeGeneratorConfig(f: JsonFields, resolutions: readonly number[]): LandscapeGeneratorConfig {
  return { resolution: f.oneOf('resolution', resolutions), ch: f.int('ch', 1), zDim: f.int('zDim', 1), ...classes(f), bnEps: f.positive('bnEps') };
}

export function readLandscapeDiscriminatorConfig(f: JsonFields, resolutions: readonly number[], norms: readonly DNorm[]): LandscapeDiscriminatorConfig {
  const norm = f.oneOf('norm', D_NORMS);
  if (!norms.includes(norm)) f.fail(`norm ${norm} is not available for this architecture (have ${norms.join(', ')})`);
  return { resolution: f.oneOf('resolution', resolutions), ch: f.int('ch', 1), ...classes(f), norm, snEps: f.positive('snEps') };
}
