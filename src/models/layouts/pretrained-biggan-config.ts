/** pytorch-pretrained-BigGAN config.json files (the config itself is platform-neutral: biggan-deep-config.ts). */
import { readJsonForUser } from '../../io/read-file.js';
import { type BigGanDeepConfig, validateBigGanDeepConfig } from '../biggan-deep-config.js';

/** Reads and validates a pytorch-pretrained-BigGAN config.json. */
export function readBigGanDeepConfig(file: string): BigGanDeepConfig {
  return validateBigGanDeepConfig(readJsonForUser(file, 'config'), file);
}
