/**
 * `biggan train --stats S --inception procedural --eval-every K`: IS/FID records of
 * G_ema in log.jsonl at the right steps, the same weights as a run without evaluation
 * (evaluating must not touch the training streams), FID/IS panels in `biggan plot`,
 * and one-line errors for missing Inception weights and stray eval flags.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { biggan, isCleanError } from './cli-helpers.js';
import { writeNpy } from '../src/io/npy.js';
import { readPng } from '../src/image/png-read.js';
import { readRunLog } from '../src/train/run/run-log.js';
import { readTrainingCheckpoint } from '../src/train/run/train-checkpoint.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-train-eval-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const TINY = [
  'train', '--ch', '4', '--batch', '4', '--dim-z', '16', '--shared-dim', '8', '--threads', '1', '--graphs', 'per-step',
  '--synthetic-classes', '4', '--synthetic-count', '32', '--steps', '4', '--checkpoint-every', '4', '--sample-every', '0',
  '--sv-every', '0', '--standing-passes', '2', '--ema-start', '1', '--log-every', '1', '--seed', '3',
];
const NO_ENV = { BIGGAN_INCEPTION: '' };

/** A small uint8 NHWC image set with some structure (smooth colour ramps). */
function writeImages(file: string, n: number, r: number): void {
  const data = new Uint8Array(n * r * r * 3);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < r; y++) {
      for (let x = 0; x < r; x++) {
        const o = ((i * r + y) * r + x) * 3;
        data[o] = (x * 8 + i * 37) & 255;
        data[o + 1] = (y * 8 + i * 61) & 255;
        data[o + 2] = ((x + y) * 4 + i * 13) & 255;
      }
    }
  }
  writeNpy(file, { dtype: 'uint8', shape: [n, r, r, 3], data });
}

test('train --stats --inception procedural --eval-every 2: eval records, unchanged training, plotted', () => {
  const images = path.join(tmp, 'real.npy');
  writeImages(images, 12, 32);
  const stats = path.join(tmp, 'stats.npz');
  const s = biggan(['fid-stats', '--data', images, '--out', stats, '--inception', 'procedural', '--batch', '12', '--threads', '1']);
  assert.equal(s.status, 0, s.stderr);

  const evaluated = path.join(tmp, 'evaluated');
  const r = biggan([...TINY, '--out', evaluated, '--stats', stats, '--inception', 'procedural', '--eval-every', '2', '--eval-n', '20']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /step 2\/4: IS \d+\.\d+ ± \d+\.\d+, FID -?\d+\.\d+/);
  const evals = readRunLog(path.join(evaluated, 'log.jsonl')).filter((x) => x.type === 'eval');
  assert.deepEqual(evals.map((x) => x.step), [2, 4]);
  for (const e of evals) {
    for (const k of ['is_mean', 'is_std', 'fid']) assert.ok(Number.isFinite(e[k]), `${k} at step ${e.step}: ${e[k]}`);
    // the procedural stand-in maps nearly every image to the same features: IS ~ 1, FID ~ 0 up to rounding (meaningless scores)
    assert.ok((e.is_mean as number) > 1 - 1e-3 && (e.fid as number) > -0.01, JSON.stringify(e));
    assert.equal(e.n, 20);
    assert.equal(e.standing, true);
  }

  // evaluating draws from its own stream and restores G_ema: training is bit-identical without it
  const plain = path.join(tmp, 'plain');
  const p = biggan([...TINY, '--out', plain]);
  assert.equal(p.status, 0, p.stderr);
  const a = readTrainingCheckpoint(path.join(evaluated, 'checkpoint.safetensors')).tensors;
  const b = readTrainingCheckpoint(path.join(plain, 'checkpoint.safetensors')).tensors;
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, t] of a) assert.deepEqual(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), Buffer.from(b.get(k)!.data.buffer, b.get(k)!.data.byteOffset, b.get(k)!.data.byteLength), k);
  assert.equal(readRunLog(path.join(plain, 'log.jsonl')).filter((x) => x.type === 'eval').length, 0);

  // the plot gains the FID and IS panels (losses, sigma G, sigma D, FID, IS)
  const png = path.join(tmp, 'plot.png');
  const q = biggan(['plot', evaluated, '--out', png, '--width', '300', '--height', '120']);
  assert.equal(q.status, 0, q.stderr);
  assert.equal(readPng(png).height, 5 * 120);
});

test('train eval flags: one-line errors', () => {
  const cases: [string[], RegExp][] = [
    [['--stats', path.join(tmp, 'any.npz')], /Inception weights.*--inception FILE.*BIGGAN_INCEPTION/],
    [['--eval-n', '20'], /--eval-n applies only with --stats/],
    [['--stats', path.join(tmp, 'missing.npz'), '--inception', 'procedural'], /missing\.npz does not exist/],
    [['--eval-every', '2', '--eval-n', '5', '--inception', 'procedural'], /--eval-n must be an integer of at least 10/],
  ];
  for (const [args, re] of cases) {
    const out = path.join(tmp, `err-${Math.random().toString(36).slice(2)}`);
    const r = biggan([...TINY, '--out', out, ...args], NO_ENV);
    assert.ok(isCleanError(r), `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.ok(!fs.existsSync(path.join(out, 'log.jsonl')), 'no run started');
  }
});
