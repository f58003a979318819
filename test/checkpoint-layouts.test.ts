// The checkpoint layout registry: each layout recognises its own files and no other
// layout's, and a file no layout knows is refused in one line naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '../src/io/safetensors.js';
import { parseDiscriminatorArgs, parseGeneratorArgs } from '../src/models/biggan-config.js';
import { BigGANGenerator } from '../src/models/biggan-generator.js';
import { BigGANDiscriminator } from '../src/models/biggan-discriminator.js';
import { loadDiscriminator, loadGenerator, saveCheckpoint } from '../src/models/checkpoint.js';
import { type LayoutName, WeightsFile } from '../src/models/layouts/checkpoint-layout.js';
import { CHECKPOINT_LAYOUTS, detectLayout } from '../src/models/layouts/registry.js';
import { assertUserError } from './assert-user-error.js';
import { PT_REF } from './fixture-paths.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-layouts-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const HF = path.join(PT_REF, 'hf-biggan-deep-128-w8');
const AJB = path.join(PT_REF, 'ajbrock-biggan-128-ch10');

function ourCheckpoint(): string {
  const file = path.join(tmp, 'ours.safetensors');
  const G = new BigGANGenerator(parseGeneratorArgs({ resolution: 32, G_ch: 4, dim_z: 8, n_classes: 3, G_attn: '0', shared_dim: 4, hier: false }));
  const D = new BigGANDiscriminator(parseDiscriminatorArgs({ resolution: 32, D_ch: 4, n_classes: 3, D_attn: '0' }));
  saveCheckpoint(file, { G, D });
  return file;
}

test('the registry lists each layout name once', () => {
  const names = CHECKPOINT_LAYOUTS.map((l) => l.name);
  assert.deepEqual([...names].sort(), ['BigGAN-PyTorch', 'biggan-ts', 'pytorch-pretrained-BigGAN'] satisfies LayoutName[]);
});

test("each layout's detect fires on its own fixture files and on no other layout's", () => {
  const files: [LayoutName, string][] = [
    ['biggan-ts', ourCheckpoint()],
    ['pytorch-pretrained-BigGAN', path.join(HF, 'pytorch_model.bin')],
    ['pytorch-pretrained-BigGAN', path.join(HF, 'model.safetensors')],
    ['BigGAN-PyTorch', path.join(AJB, 'G.pth')],
    ['BigGAN-PyTorch', path.join(AJB, 'D.pth')],
    ['BigGAN-PyTorch', path.join(AJB, 'G.safetensors')],
    ['BigGAN-PyTorch', path.join(AJB, 'D.safetensors')],
  ];
  for (const [owner, file] of files) {
    const weights = new WeightsFile(file);
    const fired = CHECKPOINT_LAYOUTS.filter((l) => l.detect(weights)).map((l) => l.name);
    assert.deepEqual(fired, [owner], `${path.basename(file)}: layouts that recognise it`);
    assert.equal(detectLayout(weights, 'generator').name, owner);
  }
  // what a load reports agrees with detection
  assert.equal(loadGenerator(path.join(HF, 'pytorch_model.bin')).layout, 'pytorch-pretrained-BigGAN');
  assert.equal(loadDiscriminator(path.join(AJB, 'D.pth')).layout, 'BigGAN-PyTorch');
  assert.equal(loadDiscriminator(ourCheckpoint()).layout, 'biggan-ts');
});

test('a file no layout knows is refused in one line naming the file, its first keys and the layouts expected', () => {
  const file = path.join(tmp, 'other.safetensors');
  writeSafetensors(file, [['fc.weight', { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) }]]);
  const expected = new RegExp(`not a BigGAN (generator|discriminator) checkpoint this tool knows \\(first keys: fc\\.weight\\); expected one of ${CHECKPOINT_LAYOUTS.map((l) => `${l.name}: .*`).join('; ')}`);
  assertUserError(() => loadGenerator(file), expected, file);
  assertUserError(() => loadDiscriminator(file), expected, file);
});

test('a generator-only layout refuses a discriminator load by name', () => {
  const file = path.join(HF, 'pytorch_model.bin');
  assertUserError(() => loadDiscriminator(file), /is a pytorch-pretrained-BigGAN generator; those releases have no discriminator/, file);
});
