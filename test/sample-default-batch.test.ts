/**
 * The sampling batch chosen when none is given: about 32K output pixels per batch (measured
 * fastest on both ends: BigGAN-deep-128 at 1-2, BigGAN-32 at 32-128; sample/default-batch.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSampleBatch } from '../src/sample/default-batch.js';

test('default sampling batch: 32K pixels per batch, a power of two between 1 and 64', () => {
  const cases: [number, number][] = [[16, 64], [32, 32], [64, 8], [128, 2], [256, 1], [512, 1], [48, 8], [100, 2]];
  for (const [resolution, batch] of cases) assert.equal(defaultSampleBatch(resolution), batch, `resolution ${resolution}`);
});
