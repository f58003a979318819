/**
 * ResNet CIFAR (Kurach et al. 2019, Table 7; LANDSCAPE.md §1.4): 32x32 only. With ch = 128,
 * G is 256 channels wide throughout (2ch) and D 128 (ch). D's last two blocks keep the size.
 */
import type { ResNetGeneratorTable } from './resnet-generator.js';
import type { ResNetDiscriminatorTable } from './resnet-discriminator.js';

export const RESNET_CIFAR_CH = 128;

/** G: Linear → 4x4x2ch, three up blocks 2ch → 2ch (8x8, 16x16, 32x32). */
export const RESNET_CIFAR_G: ResNetGeneratorTable = { resolution: 32, widths: [2, 2, 2, 2] };

/** D: two down blocks to ch (16x16, 8x8), then two blocks without resampling. */
export const RESNET_CIFAR_D: ResNetDiscriminatorTable = {
  resolution: 32,
  blocks: [
    [1, true],
    [1, true],
    [1, false],
    [1, false],
  ],
};
