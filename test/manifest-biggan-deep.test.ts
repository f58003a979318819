/**
 * Full-size BigGAN-deep generators (the real biggan-deep-128/256/512 configs) against
 * the state-dict manifests of pytorch-pretrained-BigGAN: our parameters mapped to HF
 * names give the manifest's keys in order with the same shapes, and the parameter and
 * buffer counts agree. Construction only; no full-size forward.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BigGanDeepGenerator } from '../src/models/biggan-deep-generator.js';
import { pretrainedStateDict } from '../src/models/layouts/pretrained-biggan-loader.js';
import { PRETRAINED_DEEP_CONFIGS, validateBigGanDeepConfig } from '../src/models/biggan-deep-config.js';
import { PT_REF } from './fixture-paths.js';

interface Manifest {
  config: unknown;
  num_parameters: number;
  num_buffer_elements: number;
  num_state_dict_elements: number;
  keys: [string, number[], string][];
}

const EXPECTED_PARAMS: Record<128 | 256 | 512, number> = { 128: 50_388_609, 256: 55_880_833, 512: 56_163_905 };

for (const res of [128, 256, 512] as const) {
  test(`biggan-deep-${res}: keys, shapes, order and counts match the HF manifest`, () => {
    const manifest: Manifest = JSON.parse(fs.readFileSync(path.join(PT_REF, 'manifests', `hf-biggan-deep-${res}.json`), 'utf8'));
    // our preset is the upstream config, field for field
    assert.deepEqual(PRETRAINED_DEEP_CONFIGS[res], validateBigGanDeepConfig(manifest.config, `manifest ${res}`));

    const model = new BigGanDeepGenerator(PRETRAINED_DEEP_CONFIGS[res]);
    const ours = [...pretrainedStateDict(model)].map(([k, p]) => [k, [...p.shape], 'float32']);
    assert.equal(ours.length, manifest.keys.length);
    assert.deepEqual(ours, manifest.keys);

    const params = model.parameterCount();
    const all = model.parameterCount(false);
    assert.equal(params, EXPECTED_PARAMS[res]);
    assert.equal(params, manifest.num_parameters);
    assert.equal(all - params, manifest.num_buffer_elements);
    assert.equal(all, manifest.num_state_dict_elements);
  });
}
