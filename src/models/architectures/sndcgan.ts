/** SNDCGAN of the GAN-landscape study (landscape/sndcgan-*.ts) in the registry: 32 or 128, ch 64, z 128, G's BN ε 2e-5 (v2). */
import { SndcganDiscriminator, SNDCGAN_D_NORMS } from '../landscape/sndcgan-discriminator.js';
import { SndcganGenerator, SNDCGAN_RESOLUTIONS } from '../landscape/sndcgan-generator.js';
import { landscapeArchitecture } from './landscape.js';

export const SNDCGAN = landscapeArchitecture({
  name: 'sndcgan',
  summary: 'SNDCGAN (Kurach et al. 2019, Table 4), 32 or 128',
  resolutions: SNDCGAN_RESOLUTIONS,
  defaultResolution: 128,
  dNorms: SNDCGAN_D_NORMS,
  defaults: () => ({ gCh: 64, dCh: 64, dimZ: 128, bnEps: 2e-5 }),
  generator: (c) => new SndcganGenerator(c),
  discriminator: (c) => new SndcganDiscriminator(c),
});
