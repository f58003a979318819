/**
 * ResNet19 (Kurach et al. 2019, Table 5; compare_gan's "resnet5"; LANDSCAPE.md §1.3):
 * 128x128 only, ch = 64. Five up blocks in G, six down blocks in D; "19" counts D's weight
 * layers (6 blocks x 3 convs + the linear).
 */
import type { ResNetGeneratorTable } from './resnet-generator.js';
import type { ResNetDiscriminatorTable } from './resnet-discriminator.js';

export const RESNET19_CH = 64;

/** G: Linear → 4x4x8ch, then blocks up to 8ch, 4ch, 4ch, 2ch, ch (8x8 ... 128x128). */
export const RESNET19_G: ResNetGeneratorTable = { resolution: 128, widths: [8, 8, 4, 4, 2, 1] };

/** D: blocks down to ch, 2ch, 4ch, 4ch, 8ch, 8ch (64x64 ... 2x2). */
export const RESNET19_D: ResNetDiscriminatorTable = {
  resolution: 128,
  blocks: [
    [1, true],
    [2, true],
    [4, true],
    [4, true],
    [8, true],
    [8, true],
  ],
};
