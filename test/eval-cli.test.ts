/**
 * `biggan eval` end to end on tiny inputs, with `--inception procedural` (the
 * fixtures' stand-in weights: the scores are meaningless, the plumbing is real).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { writeNpy } from '../src/io/npy.js';
import { writeNpz } from '../src/io/npz.js';
import { FeatureStats } from '../src/metrics/feature-stats.js';
import { writeStatsFile } from '../src/metrics/stats-file.js';
import { Rng } from '../src/random/rng.js';
import { PT_REF } from './fixture-paths.js';
import { biggan, isCleanError } from './cli-helpers.js';

const AJB = path.join(PT_REF, 'ajbrock-biggan-128-ch10');
const G = path.join(AJB, 'G.pth');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-eval-cli-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const P = ['--inception', 'procedural'];

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Reference statistics of a few random 2048-d vectors (rank-deficient, so FID stays cheap). */
function randomStats(file: string, n: number): void {
  const rng = new Rng(9);
  const x = Float32Array.from({ length: n * 2048 }, () => Math.abs(rng.normal()) * 0.2);
  writeStatsFile(file, new FeatureStats(2048).add({ rows: n, cols: 2048, data: x }).toMeanCov());
}

function writePng(file: string, w: number, h: number, seed: number): void {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = 4 * (y * w + x);
      png.data[o] = (x * 8 + seed * 40) & 255;
      png.data[o + 1] = (y * 8 + seed * 90) & 255;
      png.data[o + 2] = ((x ^ y) * 16 + seed) & 255;
      png.data[o + 3] = 255;
    }
  }
  fs.writeFileSync(file, PNG.sync.write(png));
}

test('eval --weights: seeded class-balanced run of the fixture generator with a full JSON report', () => {
  const stats = path.join(tmp, 'ref.npz');
  randomStats(stats, 6);
  const out = path.join(tmp, 'report.json');
  const r = biggan(['eval', '--weights', G, '--config', path.join(AJB, 'constructor_args.json'), '--stats', stats, ...P,
    '-n', '20', '--seed', '4', '--batch', '10', '--fid-eps-offset', 'never', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^IS \d+\.\d{3} ± \d+\.\d{3}  FID \d+\.\d{3}   \(n=20, truncation none, seed 4, pipeline pytorch-fid\)   \[procedural Inception: a testing aid, these scores mean nothing\]\n$/);
  assert.match(r.stderr, /note: procedural Inception weights/);
  assert.match(r.stderr, /20 samples < 2049/);
  const rep = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(rep.mode, 'generator');
  assert.equal(rep.n, 20);
  assert.equal(rep.seed, 4);
  assert.equal(rep.truncation, null);
  assert.equal(rep.class_sampling, 'balanced');
  assert.equal(rep.generator.weights.sha256, sha256(G));
  assert.equal(rep.generator.config.sha256, sha256(path.join(AJB, 'constructor_args.json')));
  assert.equal(rep.generator.layout, 'BigGAN-PyTorch');
  assert.equal(rep.reference.stats.sha256, sha256(stats));
  assert.equal(rep.inception.procedural, true);
  assert.equal(rep.inception.pipeline, 'pytorch-fid');
  // the metrics fixture README's checksum of the procedural tensors
  assert.match(rep.inception.sha256, /^f83cc8c312a0312f/);
  assert.deepEqual(rep.metric_settings.metrics, ['is', 'fid']);
  assert.equal(rep.metric_settings.fid_sqrtm_eps_policy, 'never');
  assert.ok(Number.isFinite(rep.metrics.fid) && rep.metrics.fid > 0, `fid ${rep.metrics.fid}`);
  assert.ok(rep.metrics.is_mean >= 1 && rep.metrics.is_std >= 0);
});

test('eval --images: a PNG folder against its own fid-stats scores FID ~ 0; shards feed --stats', () => {
  const dir = path.join(tmp, 'pngs');
  fs.mkdirSync(dir);
  for (let i = 0; i < 6; i++) writePng(path.join(dir, `img${i}.png`), 40, 40, i);
  const stats = path.join(tmp, 'pngs.npz'), shard = path.join(tmp, 'pngs-shard.npz');
  const s = biggan(['fid-stats', '--data', dir, '--out', stats, '--shard-out', shard, ...P, '--batch', '4']);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stderr, /6 images \(pipeline pytorch-fid\): wrote/);
  const out = path.join(tmp, 'images.json');
  const r = biggan(['eval', '--images', dir, '--stats', stats, ...P, '--splits', '3', '--batch', '4', '--fid-eps-offset', 'never', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(rep.mode, 'images');
  assert.equal(rep.images.count, 6);
  assert.equal(rep.images.kind, 'folder');
  assert.match(rep.images.sha256, /^[0-9a-f]{64}$/);
  assert.equal(rep.seed, null);
  assert.ok(rep.metrics.fid >= 0 && rep.metrics.fid < 1e-9, `FID of a set against itself: ${rep.metrics.fid}`);
  assert.doesNotMatch(r.stdout, /FID -/);
  // the shard as reference: same statistics, so the same FID; -n takes the first images
  const r2 = biggan(['eval', '--images', dir, '-n', '4', '--stats', shard, ...P, '--metrics', 'fid', '--fid-eps-offset', 'never']);
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stdout, /^FID \d+\.\d{3}   \(n=4 images/);
  assert.match(r2.stderr, /reference statistics come from 6 images/);
});

test('eval: bad input is a one-line error', () => {
  const stats64 = path.join(tmp, 'stats64.npz');
  writeNpz(stats64, { mu: { dtype: 'float64', shape: [64], data: new Float64Array(64) }, sigma: { dtype: 'float64', shape: [64, 64], data: new Float64Array(64 * 64) } });
  const nanNpy = path.join(tmp, 'nan.npy');
  writeNpy(nanNpy, { dtype: 'float32', shape: [2, 3, 8, 8], data: new Float32Array(2 * 3 * 64).fill(NaN) });
  const badDir = path.join(tmp, 'bad');
  fs.mkdirSync(badDir);
  for (let i = 0; i < 3; i++) writePng(path.join(badDir, `ok${i}.png`), 16, 16, i);
  fs.writeFileSync(path.join(badDir, 'zz.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
  const cases: [string[], RegExp, Record<string, string>?][] = [
    [['eval', '--weights', G, '-n', '20'], /pt_inception-2015-12-05-6726825d\.pth.*--inception FILE.*BIGGAN_INCEPTION/, { BIGGAN_INCEPTION: '' }],
    [['eval', '--weights', G, '-n', '20', '--inception', path.join(tmp, 'nope.pth')], /do not exist; get pt_inception-2015-12-05-6726825d\.pth/],
    [['eval', '--weights', G, '-n', '20', '--stats', stats64, ...P], /64-dimensional statistics.*2048/],
    [['eval', '--weights', G, '-n', '5', ...P], /too few samples: -n has 5, but the Inception Score with 10 splits needs at least 10 samples/],
    [['eval', '--weights', G, '-n', '1', '--metrics', 'fid', '--stats', stats64, ...P], /needs at least 2 samples for the covariance/],
    [['eval', '--images', nanNpy, ...P, '--splits', '1'], /NaN/],
    [['eval', '--images', badDir, ...P, '--splits', '2'], /unreadable image .*zz\.png/],
    [['eval', '--weights', G, '--metrics', 'fid', ...P], /FID needs reference statistics: pass --stats/],
    [['eval', '--weights', G, '--images', badDir, ...P], /either --weights CKPT .* or --images PATH/],
    [['eval', '--images', badDir, '--truncation', '0.5', ...P], /--truncation applies to --weights/],
    [['eval', '--weights', G, '--truncation-sweep', '1:0.5:0.1', ...P], /stop is below start/],
    [['eval', '--weights', G, '--truncation', '-1', ...P], /positive number/],
    [['eval', '--images', path.join(tmp, 'missing-dir'), ...P], /does not exist/],
    [['eval', '--images', badDir, '-n', '10', ...P], /-n 10 asks for more images than the 4/],
    [['fid-stats', '--merge', stats64, '--out', path.join(tmp, 'm.npz')], /only mu\/sigma.*--shard-out/],
    [['fid-stats', '--out', path.join(tmp, 'm.npz'), ...P], /nothing to do/],
  ];
  for (const [args, re, env] of cases) {
    const r = biggan(args, env);
    // notes may precede an error found while scoring; the error itself is one line
    const rest = { ...r, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('note: ')).join('\n') };
    assert.ok(isCleanError(rest), `${args.join(' ')}: expected a one-line error, got status ${r.status}:\n${r.stderr}`);
    assert.match(rest.stderr.trim(), re, args.join(' '));
    assert.match(rest.stderr, /^biggan: error: /);
  }
});
