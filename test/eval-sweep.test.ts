/**
 * `biggan eval --truncation-sweep` end to end with `--inception procedural`:
 * a table on stdout, a PNG of the IS-FID curve and one report entry per threshold.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readPng } from '../src/image/png-read.js';
import { FeatureStats } from '../src/metrics/feature-stats.js';
import { writeStatsFile } from '../src/metrics/stats-file.js';
import { Rng } from '../src/random/rng.js';
import { PT_REF } from './fixture-paths.js';
import { biggan } from './cli-helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-eval-sweep-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const P = ['--inception', 'procedural'];
const stats = path.join(tmp, 'ref.npz');
{
  const rng = new Rng(2);
  const x = Float32Array.from({ length: 5 * 2048 }, () => Math.abs(rng.normal()) * 0.2);
  writeStatsFile(stats, new FeatureStats(2048).add({ rows: 5, cols: 2048, data: x }).toMeanCov());
}

test('truncation sweep (BigGAN): table, IS-FID plot and per-threshold report', () => {
  const out = path.join(tmp, 'sweep.json');
  const r = biggan(['eval', '--weights', path.join(PT_REF, 'ajbrock-biggan-128-ch10', 'G.pth'), '--stats', stats, ...P,
    '-n', '4', '--splits', '2', '--batch', '4', '--truncation-sweep', '0.5:1.5:0.5', '--fid-eps-offset', 'never', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 6, r.stdout);
  assert.match(lines.pop()!, /procedural Inception: a testing aid/);
  assert.match(lines[0]!, /truncation\s+IS\s+FID/);
  assert.deepEqual(lines.slice(2).map((l) => l.trim().split(/\s+/)[0]), ['0.5', '1', '1.5']);
  const plot = path.join(tmp, 'sweep-sweep.png');
  assert.match(r.stderr, /wrote the sweep plot to .*sweep-sweep\.png/);
  const png = readPng(plot);
  assert.equal(png.width, 720);
  assert.equal(png.height, 540);
  const rep = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.deepEqual(rep.sweep.map((e: { truncation: number }) => e.truncation), [0.5, 1, 1.5]);
  for (const e of rep.sweep) assert.ok(Number.isFinite(e.fid) && Number.isFinite(e.is_mean));
  assert.equal(rep.truncation, null);
  assert.equal(rep.metrics, undefined);
});

test('truncation sweep (BigGAN-deep): values above 1 are dropped with a note, or refused when none is left', () => {
  const weights = path.join(PT_REF, 'hf-biggan-deep-128-w8', 'model.safetensors');
  const plot = path.join(tmp, 'deep.png');
  const r = biggan(['eval', '--weights', weights, '--stats', stats, ...P, '-n', '2', '--metrics', 'fid', '--fid-eps-offset', 'never',
    '--truncation-sweep', '0.5:1.5:0.5', '--plot', plot]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /note: BigGAN-deep's truncation must be in \(0, 1\].*1 value\(s\) above 1 dropped/);
  assert.deepEqual(r.stdout.trim().split('\n').slice(2, -1).map((l) => l.trim().split(/\s+/)[0]), ['0.5', '1']);
  assert.ok(fs.existsSync(plot));
  const bad = biggan(['eval', '--weights', weights, '--stats', stats, ...P, '-n', '2', '--metrics', 'fid', '--truncation-sweep', '1.5,2']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^biggan: error: --truncation-sweep: BigGAN-deep's truncation must be in \(0, 1\]/);
});
