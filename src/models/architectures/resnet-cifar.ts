/** ResNet CIFAR of the GAN-landscape study (landscape/resnet-cifar.ts) in the registry: 32 only, ch 128 (G 256 wide), z 128. */
import { RESNET_CIFAR_CH, RESNET_CIFAR_D, RESNET_CIFAR_G } from '../landscape/resnet-cifar.js';
import { resnetArchitecture } from './landscape.js';

export const RESNET_CIFAR = resnetArchitecture(
  'resnet-cifar', 'ResNet CIFAR (Kurach et al. 2019, Table 7), 32', RESNET_CIFAR_CH, RESNET_CIFAR_G, RESNET_CIFAR_D,
);
