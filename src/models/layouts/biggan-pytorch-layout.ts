/**
 * BigGAN-PyTorch (ajbrock): G.pth / G_ema.pth / D.pth, TF-Hub converter output, or a
 * BigGAN state dict in our own parameter names. Constructor args: given as {"G": …, "D": …},
 * else a constructor_args.json / config.json beside the weights holding them, else read
 * back from the shapes with the ImageNet scripts' epsilons (BGP names only).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.js';
import { readJsonForUser } from '../../io/read-file.js';
import type { CheckpointLayout, WeightsFile } from './checkpoint-layout.js';
import { configKind } from './config-kind.js';
import { detectBigGANPyTorch, discriminatorFromStateDict, generatorFromStateDict } from './biggan-pytorch.js';

/** Constructor args beside a BigGAN-PyTorch checkpoint, if any. */
function besideArgs(weights: string): string | undefined {
  for (const name of ['constructor_args.json', 'config.json']) {
    const p = path.join(path.dirname(weights), name);
    if (fs.existsSync(p) && configKind(readJsonForUser(p, 'config')) === 'bgp') return p;
  }
  return undefined;
}

/** A BigGAN G or D state dict in our own names, which the loaders take with constructor args. */
function inOurNames(keys: Set<string>): boolean {
  return keys.has('linear.w.weight') && (keys.has('to_rgb.w.weight') || keys.has('embed.w.weight'));
}

/** The user's config must hold constructor args; `refusal` is the message when it does not. */
function checkArgsFile(config: string | undefined, refusal: string): void {
  if (config && configKind(readJsonForUser(config, 'config')) !== 'bgp') throw new UserError(refusal);
}

export const BIGGAN_PYTORCH_LAYOUT: CheckpointLayout = {
  name: 'BigGAN-PyTorch',
  expects: 'a BigGAN-PyTorch G.pth / G_ema.pth / D.pth (blocks.0.0.conv1.u0, linear.*, output_layer.* or embed.*)',
  detect(file: WeightsFile) {
    const keys = file.keys();
    return detectBigGANPyTorch(keys) !== null || inOurNames(new Set(keys));
  },
  loadGenerator(file, config) {
    checkArgsFile(config, `${config} does not hold BigGAN-PyTorch constructor args ("G"/"D"), but ${file.path} is a BigGAN-PyTorch checkpoint`);
    return { model: generatorFromStateDict(file.stateDict(), file.path, { args: config ?? besideArgs(file.path) }) };
  },
  loadDiscriminator(file, config) {
    checkArgsFile(config, `${config} does not hold BigGAN-PyTorch constructor args ("D")`);
    return { model: discriminatorFromStateDict(file.stateDict(), file.path, { args: config ?? besideArgs(file.path) }) };
  },
};
