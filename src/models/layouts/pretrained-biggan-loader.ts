/**
 * BigGAN-deep generators from pytorch-pretrained-BigGAN state dicts (or state dicts in
 * our own names) and their config.json: the key check in the file's own names, then the
 * renaming of pretrained-biggan.ts into the network of biggan-deep-generator.ts.
 */
import path from 'node:path';
import fs from 'node:fs';
import { Param } from '../../engine/graph.js';
import { UserError } from '../../errors.js';
import { NdArray, shapeToString } from '../../io/ndarray.js';
import { readStateDict } from '../../io/state-dict-file.js';
import { buildForFile, loadStateDict, sameShape } from '../load-state.js';
import { BigGanDeepGenerator } from '../biggan-deep-generator.js';
import { BigGanDeepConfig, PRETRAINED_DEEP_CONFIGS, hasAttention, validateBigGanDeepConfig } from '../biggan-deep-config.js';
import { readBigGanDeepConfig } from './pretrained-biggan-config.js';
import {
  LAYOUT_NAME, PretrainedBigGanLayoutOptions, attentionPositionFromKeys, describeOtherLayout, detectPretrainedBigGan, fromPretrainedBigGan, toPretrainedBigGan,
} from './pretrained-biggan.js';

/** The layout options for a model's HF checkpoint names. */
export function pretrainedLayoutOptions(model: BigGanDeepGenerator): PretrainedBigGanLayoutOptions {
  return { attentionPosition: model.attention ? model.config.attention_layer_position : null };
}

/** A model's state in HF names and torch order (what upstream's state_dict() would list). */
export function pretrainedStateDict(model: BigGanDeepGenerator): Map<string, Param> {
  return toPretrainedBigGan(model.stateDict(), pretrainedLayoutOptions(model));
}

/** Where a config comes from when loading: a config object, a config.json path, or (undefined) found beside the weights. */
export type DeepConfigSource = BigGanDeepConfig | string | undefined;

/**
 * Builds a generator from a state dict in HF names (pytorch-pretrained-BigGAN) or in
 * our own names. Every expected tensor must be there with its exact shape; errors
 * name the key in the file's own naming, with expected and found shapes.
 */
export function bigGanDeepFromStateDict(state: Map<string, NdArray>, config: BigGanDeepConfig, source: string): BigGanDeepGenerator {
  const hf = checkedLayout(state, source) === 'pretrained-biggan';
  const model = buildForFile(source, state, () => new BigGanDeepGenerator(config));
  const keys = [...state.keys()];
  let ours = state;
  if (hf) {
    const opts = pretrainedLayoutOptions(model);
    const fileAttn = attentionPositionFromKeys(keys);
    if (fileAttn !== null && fileAttn !== opts.attentionPosition) {
      throw new UserError(`${source} has its attention layer at generator.layers.${fileAttn} but the config puts it at ${opts.attentionPosition ?? '(none)'}`);
    }
    // Check in HF names first so messages name the file's keys.
    const expected = pretrainedStateDict(model);
    const problems: string[] = [];
    for (const [key, p] of expected) {
      const t = state.get(key);
      if (!t) problems.push(`missing ${key} (expected shape ${shapeToString(p.shape)})`);
      else if (!sameShape(t.shape, p.shape)) problems.push(`${key}: expected shape ${shapeToString(p.shape)}, found ${shapeToString(t.shape)}`);
    }
    for (const key of keys) if (!expected.has(key)) problems.push(`unexpected key ${key}`);
    if (problems.length) {
      const more = problems.length > 4 ? `; and ${problems.length - 4} more` : '';
      throw new UserError(`${source} does not fit the BigGAN-deep ${config.output_dim} config (channel_width ${config.channel_width}): ${problems.slice(0, 4).join('; ')}${more}`);
    }
    ours = fromPretrainedBigGan(state, opts).ours;
  }
  loadStateDict(model, ours, { source });
  return model;
}

/** Which naming a BigGAN-deep generator state dict uses; anything else is refused, saying what it looks like. */
function checkedLayout(state: Map<string, NdArray>, source: string): 'pretrained-biggan' | 'ours' {
  const keys = [...state.keys()];
  if (detectPretrainedBigGan(keys)) return 'pretrained-biggan';
  if (state.has('gen_z.w.weight') && state.has('class_embedding')) return 'ours';
  throw new UserError(`${source} is not a BigGAN-deep generator checkpoint: it looks like ${describeOtherLayout(keys)}; expected ${LAYOUT_NAME} keys (embeddings.weight, generator.gen_z.*, generator.layers.*)`);
}

/**
 * Loads a BigGAN-deep generator from a weights file (.bin/.pth/.safetensors, HF or our
 * names). Config: given, or config.json beside the weights, or else (HF names only) the
 * pretrained 128/256/512 config with the file's number of generator layers.
 */
export function loadBigGanDeepGenerator(weightsFile: string, config?: DeepConfigSource): BigGanDeepGenerator {
  const state = readStateDict(weightsFile);
  checkedLayout(state, weightsFile); // before looking for a config: a foreign checkpoint's config.json would mislead
  const cfg = resolveDeepConfig(weightsFile, state, config);
  return bigGanDeepFromStateDict(state, cfg, weightsFile);
}

export function resolveDeepConfig(weightsFile: string, state: Map<string, NdArray>, config: DeepConfigSource): BigGanDeepConfig {
  if (typeof config === 'object') return validateBigGanDeepConfig(config, 'BigGAN-deep config');
  if (typeof config === 'string') return readBigGanDeepConfig(config);
  const beside = path.join(path.dirname(weightsFile), 'config.json');
  if (fs.existsSync(beside)) return readBigGanDeepConfig(beside);
  // No config: the pretrained releases differ in their number of blocks.
  const layerCount = new Set([...state.keys()].map((k) => /^generator\.layers\.(\d+)\./.exec(k)?.[1]).filter((x) => x !== undefined)).size;
  const match = Object.values(PRETRAINED_DEEP_CONFIGS).find((c) => c.layers.length + (hasAttention(c) ? 1 : 0) === layerCount);
  if (!match) throw new UserError(`${weightsFile}: no config.json beside it and its ${layerCount} generator layers match no pretrained BigGAN-deep config; pass the config`);
  return match;
}
