/**
 * Every malformed file gets a clean error: a seeded mutation fuzz of every loader
 * (torch zip and legacy, pickle, safetensors, .npy/.npz, our checkpoints and their
 * metadata, config.json and constructor args, .bgd, CIFAR-10 batches, npy training
 * data, images). Each input must load or raise a UserError with a one-line message
 * naming the file, within 2 s and 384 MiB; test/fuzz/ holds the driver, `npm run
 * fuzz` runs it at any size and reproduces a failure from its seed and index.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, runFuzz } from './fuzz/driver.js';

const COUNT = Number(process.env.BIGGAN_FUZZ_COUNT ?? 3000);
const SEED = Number(process.env.BIGGAN_FUZZ_SEED ?? 20251205);

test(`${COUNT} mutated files of every format load or fail with a one-line UserError naming the file, within time and memory limits`, async (t) => {
  const report = await runFuzz({ count: COUNT, seed: SEED, checkSeeds: true });
  const lines = formatReport(report, SEED);
  for (const line of lines) t.diagnostic(line);
  assert.equal(report.seedChecks.length > 0 && report.seedChecks.every((s) => s.outcome === 'loaded'), true, 'every seed file loads unmutated');
  assert.equal(report.inputs, COUNT);
  for (const [format, c] of Object.entries(report.byFormat)) {
    assert.ok(c.inputs >= Math.floor(COUNT / Object.keys(report.byFormat).length), `${format}: too few inputs`);
  }
  assert.equal(report.failures.length, 0, lines.join('\n'));
});
