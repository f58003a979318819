/**
 * pytorch-pretrained-BigGAN (BigGAN-deep 128/256/512): pytorch_model.bin + config.json
 * (given, or beside the weights, or else read from the number of generator layers).
 * Generators only: those releases have no discriminator.
 */
import { UserError } from '../../errors.js';
import { readJsonForUser } from '../../io/read-file.js';
import { validateBigGanDeepConfig } from '../biggan-deep-config.js';
import { readBigGanDeepConfig } from './pretrained-biggan-config.js';
import type { CheckpointLayout } from './checkpoint-layout.js';
import { configKind } from './config-kind.js';
import { detectPretrainedBigGan } from './pretrained-biggan.js';
import { bigGanDeepFromStateDict, resolveDeepConfig } from './pretrained-biggan-loader.js';

export const PRETRAINED_BIGGAN_LAYOUT: CheckpointLayout = {
  name: 'pytorch-pretrained-BigGAN',
  expects: 'a BigGAN-deep pytorch_model.bin (embeddings.weight, generator.gen_z.*, generator.layers.*)',
  detect: (file) => detectPretrainedBigGan(file.keys()),
  loadGenerator(file, config) {
    const weights = file.path;
    const state = file.stateDict();
    if (config && configKind(readJsonForUser(config, 'config')) !== 'hf') throw new UserError(`${config} is not a pytorch-pretrained-BigGAN config.json, but ${weights} is a BigGAN-deep checkpoint`);
    const cfg = config ? readBigGanDeepConfig(config) : resolveDeepConfig(weights, state, undefined);
    return { model: bigGanDeepFromStateDict(state, validateBigGanDeepConfig(cfg, config ?? weights), weights) };
  },
};
