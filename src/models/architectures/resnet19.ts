/** ResNet19 of the GAN-landscape study (landscape/resnet19.ts: compare_gan's resnet5) in the registry: 128 only, ch 64, z 128. */
import { RESNET19_CH, RESNET19_D, RESNET19_G } from '../landscape/resnet19.js';
import { resnetArchitecture } from './landscape.js';

export const RESNET19 = resnetArchitecture(
  'resnet19', 'ResNet19 (Kurach et al. 2019, Table 5), 128', RESNET19_CH, RESNET19_G, RESNET19_D,
);
