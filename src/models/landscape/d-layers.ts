/**
 * The discriminator normalisations of the GAN-landscape study (LANDSCAPE.md §4) and the
 * layers each one makes:
 *   spectral  every conv, linear and projection embedding spectrally normalised (one power
 *             iteration per forward, BigGAN-PyTorch's flavour: the study's u sits on the
 *             input side of W, ours on the output side; σ is the same estimate)
 *   batch     BN (batch statistics, ε 1e-5, momentum 0.1 = TF decay 0.9) before each of
 *             the two ReLUs of a ResNet block's main path; plain layers
 *   layer     layer norm (over C, H, W per sample, ε 1e-12) in the same places; plain layers
 *   none      plain layers
 * Weight norm (compare_gan's ops.py) is left out: the study never wired it into these
 * architectures, so there is no definition of where it goes.
 */
import { BatchNorm2d } from '../../nn/batchnorm.js';
import { LayerNorm } from '../../nn/layer-norm.js';
import { Conv2d, Embedding, Linear } from '../../nn/plain-layers.js';
import { SNConfig, SNConv2d, SNEmbedding, SNLinear } from '../../nn/spectral-norm.js';

export const D_NORMS = ['spectral', 'none', 'batch', 'layer'] as const;
export type DNorm = (typeof D_NORMS)[number];

/** G and D batch norm of the study's ResNet blocks: ε 1e-5 (TF's default), decay 0.9. */
export const RESNET_BN_EPS = 1e-5;

export type DConv = SNConv2d | Conv2d;
export type DLinear = SNLinear | Linear;
export type DEmbedding = SNEmbedding | Embedding;
export type DNormLayer = BatchNorm2d | LayerNorm;

/** The spectral-norm settings of a D (BigGAN-PyTorch's flavour, the run's ε). */
export const dSpectralNorm = (snEps: number): SNConfig => ({ flavour: 'ajbrock', eps: snEps });

export function dConv(norm: DNorm, sn: SNConfig, cin: number, cout: number, kernel: number, stride: 1 | 2 = 1): DConv {
  return norm === 'spectral' ? new SNConv2d(cin, cout, kernel, sn, true, stride) : new Conv2d(cin, cout, kernel, stride);
}

export function dLinear(norm: DNorm, sn: SNConfig, cin: number, cout: number): DLinear {
  return norm === 'spectral' ? new SNLinear(cin, cout, sn) : new Linear(cin, cout);
}

/** The projection discriminator's class embedding (SN'd as a whole table under spectral, like BigGAN's). */
export function dEmbedding(norm: DNorm, sn: SNConfig, rows: number, dim: number): DEmbedding {
  return norm === 'spectral' ? new SNEmbedding(rows, dim, sn) : new Embedding(rows, dim);
}

/** The activation normaliser of a ResNet D block (batch or layer), or none. */
export function dNormLayer(norm: DNorm, channels: number): DNormLayer | undefined {
  if (norm === 'batch') return new BatchNorm2d(channels, RESNET_BN_EPS);
  if (norm === 'layer') return new LayerNorm(channels);
  return undefined;
}
