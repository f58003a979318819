/**
 * The public library API (src/index.ts, src/core.ts) as users call it: the same
 * numbers as the CLI and the references, UserErrors for bad input, a core that
 * imports nothing platform-specific, declarations without `any`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { METRICS_REF, PT_REF, REPO_ROOT } from './fixture-paths.js';
import { TEST_CACHE_DIR, biggan } from './cli-helpers.js';
import { maxAbsDiff } from './array-diff.js';
import * as lib from '../src/index.js';
import type { ProgressInfo } from '../src/index.js';

process.env.BIGGAN_CACHE_DIR = TEST_CACHE_DIR;
const HF = path.join(PT_REF, 'hf-biggan-deep-128-w8');
const AJB = path.join(PT_REF, 'ajbrock-biggan-128-ch10');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-lib-'));
const ref = (name: string) => lib.readNpy(path.join(METRICS_REF, `${name}.npy`));

/** Relative import closure of a built module, and the bare specifiers it reaches. */
function importClosure(entry: string): { files: Set<string>; external: string[] } {
  const files = new Set<string>();
  const external: string[] = [];
  const walk = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const code = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
    for (const m of code.matchAll(/(?:^|\s)(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith('.')) walk(path.resolve(path.dirname(file), file.endsWith('.d.ts') ? spec.replace(/\.js$/, '.d.ts') : spec));
      else external.push(`${path.relative(REPO_ROOT, file)} -> ${spec}`);
    }
  };
  walk(entry);
  return { files, external };
}

test('biggan-ts/core imports nothing platform-specific (no node:*, onnxruntime-node, sharp, any package)', () => {
  const { files, external } = importClosure(path.join(REPO_ROOT, 'dist', 'src', 'core.js'));
  assert.ok(files.size > 10, `closure of ${files.size} files`);
  assert.deepEqual(external, []);
  // and the package root does reach the Node parts
  const root = importClosure(path.join(REPO_ROOT, 'dist', 'src', 'index.js'));
  assert.ok(root.external.some((e) => e.endsWith('-> onnxruntime-node')));
});

test('the public declarations contain no `any`', () => {
  const { files } = importClosure(path.join(REPO_ROOT, 'dist', 'src', 'index.d.ts'));
  const offenders: string[] = [];
  for (const f of files) {
    const code = fs.readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    code.split('\n').forEach((line, i) => {
      if (/\bany\b/.test(line.replace(/'[^']*'|"[^"]*"|`[^`]*`/g, ''))) offenders.push(`${path.relative(REPO_ROOT, f)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, []);
});

test('Generator.sample gives the CLI\'s images for names, WordNet ids and ids, seeds, n and batch', async () => {
  const G = await lib.loadGenerator(path.join(HF, 'pytorch_model.bin'));
  assert.deepEqual({ ...G.info }, { kind: 'biggan-deep', resolution: 128, zDim: 128, numClasses: 1000, usesTruncation: true });
  const images = await G.sample({ classes: ['golden retriever', 'n01443537', 980], n: 5, truncation: 0.3, seed: 7, batch: 2 });
  assert.deepEqual(images.shape, [5, 3, 128, 128]);
  assert.deepEqual(images.classIds, [207, 1, 980, 207, 1]);
  assert.deepEqual(images.labels.slice(0, 3), ['207 golden retriever', '1 goldfish', '980 volcano']);
  const out = path.join(tmp, 'cli.npy');
  const r = biggan(['sample', '--weights', path.join(HF, 'pytorch_model.bin'), '--classes', 'golden retriever,n01443537,980', '-n', '5', '--truncation', '0.3', '--seed', '7', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(maxAbsDiff(images.data, (await lib.readNpy(out)).data as Float32Array), 0);
  // random classes: the seed decides; the default count is 8
  const a = await G.sample({ seed: 3 });
  const b = await G.sample({ seed: 3, batch: 3 });
  assert.equal(a.shape[0], 8);
  assert.deepEqual(a.classIds, b.classIds);
  assert.ok(maxAbsDiff(a.data, b.data) <= 1e-5);
  const row = await G.interpolate({ kind: 'both', steps: 3, classes: [1, 2], seed: 1 });
  assert.deepEqual(row.shape, [1, 3, 128, 128].map((d, i) => (i === 0 ? 3 : d)));
  await lib.writeImageSheet(row, path.join(tmp, 'row.png'));
  assert.ok(fs.statSync(path.join(tmp, 'row.png')).size > 1000);
  await G.dispose();
  await assert.rejects(G.sample({ n: 1 }), lib.UserError);
});

test('BigGAN-PyTorch generators: threshold truncation, the CLI\'s numbers', async () => {
  const G = await lib.loadGenerator(path.join(AJB, 'G.pth'), { config: path.join(AJB, 'constructor_args.json'), cache: false });
  assert.equal(G.info.usesTruncation, false);
  const images = await G.sample({ classes: [0, 3], n: 3, truncation: 0.5, seed: 2 });
  const out = path.join(tmp, 'ajb.npy');
  const r = biggan(['sample', '--weights', path.join(AJB, 'G.pth'), '--config', path.join(AJB, 'constructor_args.json'), '--classes', '0,3', '-n', '3', '--truncation', '0.5', '--seed', '2', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(maxAbsDiff(images.data, (await lib.readNpy(out)).data as Float32Array), 0);
  await G.dispose();
});

test('the memory arena setting changes memory, never the images', async () => {
  const images = async (memArena: lib.MemArena, n: number) => {
    const G = await lib.loadGenerator(path.join(HF, 'pytorch_model.bin'), { memArena });
    try {
      return (await G.sample({ n, batch: 2, seed: 5, truncation: 0.5 })).data;
    } finally {
      await G.dispose();
    }
  };
  for (const n of [2, 3]) {
    const on = await images(true, n);
    assert.deepEqual(await images(false, n), on);
    assert.deepEqual(await images('multi-batch', n), on);
  }
});

test('weight prepacking (on, off, for many batches) changes the start-up and the images only to float rounding', async () => {
  const images = async (prepack: lib.Prepack) => {
    const G = await lib.loadGenerator(path.join(HF, 'pytorch_model.bin'), { prepack });
    try {
      return (await G.sample({ n: 3, batch: 2, seed: 5, truncation: 0.5 })).data;
    } finally {
      await G.dispose();
    }
  };
  // packed and unpacked weights run different GEMM kernels: the same images to float rounding
  const off = await images(false);
  assert.deepEqual(await images('many-batches'), off, 'a 2-batch request does not prepack');
  const on = await images(true);
  let diff = 0;
  for (let i = 0; i < on.length; i++) diff = Math.max(diff, Math.abs(on[i]! - off[i]!));
  assert.ok(diff < 1e-4, `prepacked vs not: max difference ${diff}`);
});

test('bad input to the library is a one-line UserError naming the problem', async () => {
  const G = await lib.loadGenerator(path.join(HF, 'pytorch_model.bin'));
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['mistyped truncation', () => G.sample({ truncation: 'high' as unknown as number }), /truncation must be a positive number/],
    ['truncation above 1 for BigGAN-deep', () => G.sample({ truncation: 1.5 }), /truncation must be in \(0, 1\]/],
    ['unknown class', () => G.sample({ classes: ['unicorn'] }), /unknown class "unicorn"/],
    ['class id out of range', () => G.sample({ classes: [1000] }), /out of range 0\.\.999/],
    ['z of the wrong width', () => G.sample({ z: { data: new Float32Array(6), shape: [2, 3] } }), /^z: latents must have shape \[N, 128\]/],
    ['z with NaN', () => G.sample({ z: { data: new Float32Array(128).fill(NaN), shape: [1, 128] } }), /z: latents contain NaN/],
    ['integer class vectors', () => G.sample({ classVector: { data: new Int32Array(1000), shape: [1, 1000] } }), /classVector: class vectors must be float/],
    ['both classes and classVector', () => G.sample({ classes: [1], classVector: { data: new Float32Array(1000), shape: [1, 1000] } }), /either classVector or classes/],
    ['n larger than the rows given', () => G.sample({ n: 3, z: { data: new Float32Array(128), shape: [1, 128] } }), /n 3 asks for more images than the 1 rows/],
    ['bad batch', () => G.sample({ batch: 0 }), /batch must be a positive integer/],
    ['bad n', () => G.sample({ n: 1.5 }), /n must be a positive integer/],
    ['missing weights', () => lib.loadGenerator(path.join(tmp, 'nope.bin')), /does not exist/],
    ['a directory as weights', () => lib.loadGenerator(tmp), /is a directory/],
    ['an unknown memArena', () => lib.loadGenerator(path.join(HF, 'pytorch_model.bin'), { memArena: 'sometimes' as unknown as boolean }), /memArena must be/],
    ['an unknown prepack', () => lib.loadGenerator(path.join(HF, 'pytorch_model.bin'), { prepack: 'often' as unknown as boolean }), /prepack must be true, false or 'many-batches'/],
    ['an unknown train option', () => lib.train({ out: path.join(tmp, 'never'), stpes: 3 } as unknown as lib.TrainOptions), /unknown option stpes/],
    ['writeNpy of a mismatched shape', () => lib.writeNpy(path.join(tmp, 'x.npy'), { data: new Float32Array(3), shape: [2, 2] }), /needs 4 values/],
  ];
  for (const [what, call, message] of cases) {
    await assert.rejects(call, (e: unknown) => {
      assert.ok(e instanceof lib.UserError, `${what}: ${String(e)}`);
      assert.match(e.message, message, what);
      assert.ok(!e.message.includes('\n'), `${what}: one line`);
      return true;
    });
  }
  assert.ok(!fs.existsSync(path.join(tmp, 'never')), 'a rejected train() leaves no run folder');
  await G.dispose();
});

test('Discriminator.score gives the fixture logits', async () => {
  const D = await lib.loadDiscriminator(path.join(AJB, 'D.pth'), { config: path.join(AJB, 'constructor_args.json') });
  const images = await lib.readNpy(path.join(AJB, 'G_out.npy'));
  const y = await lib.readNpy(path.join(AJB, 'y.npy'));
  const logits = await D.score(images, y);
  assert.deepEqual(logits.shape, [images.shape[0]]);
  assert.ok(maxAbsDiff(logits.data, (await lib.readNpy(path.join(AJB, 'D_out.npy'))).data as Float32Array) <= 2.5e-6);
  await assert.rejects(D.score(images, [1]), /expected \d+ classes/);
});

test('metric maths on arrays reproduce pytorch-fid and torch-fidelity', async () => {
  const results = JSON.parse(fs.readFileSync(path.join(METRICS_REF, 'results.json'), 'utf8'));
  const [a, b] = await Promise.all([ref('fid_a'), ref('fid_b')]);
  const fromFeatures = lib.frechetInceptionDistance(a, b);
  assert.ok(Math.abs(fromFeatures - results.fid.main.pytorch_fid) < 1e-6 * results.fid.main.pytorch_fid, `FID ${fromFeatures}`);
  const sa = lib.featureStatistics(a);
  assert.deepEqual(sa.sigma.shape, [a.shape[1], a.shape[1]]);
  const statsFile = path.join(tmp, 'a.npz');
  await lib.writeStatsFile(statsFile, sa);
  const mixed = lib.frechetInceptionDistance(await lib.readStatsFile(statsFile), b);
  assert.ok(Math.abs(mixed - fromFeatures) < 1e-9 * fromFeatures);
  const is = lib.inceptionScore(await ref('is_logits'));
  assert.ok(Math.abs(is.mean - results.is.default_shuffle.inception_score_mean) < 1e-9);
  const kid = lib.kernelInceptionDistance(await ref('kid_x'), await ref('kid_y'));
  assert.ok(Math.abs(kid.mean - results.kid.default.kernel_inception_distance_mean) < 1e-9);
  assert.throws(() => lib.frechetInceptionDistance(a, { data: new Float32Array(4), shape: [2, 2] }), /different feature dimensions/);
});

test('Inception features through the library match the pytorch-fid fixture (procedural weights)', async () => {
  const inception = await lib.loadInception({ weights: 'procedural', batch: 4, threads: 2 });
  const images = await ref('images_64');
  const { pool3 } = await inception.features(images);
  assert.deepEqual(pool3.shape, [images.shape[0], 2048]);
  assert.ok(maxAbsDiff(pool3.data, (await ref('pfid_pool3_64')).data as Float32Array) <= 1e-5);
  await inception.dispose();
});

test('train(): a short run with progress callbacks, stopped by an AbortSignal, then resumed to the end', { timeout: 300_000 }, async () => {
  const out = path.join(tmp, 'run');
  const seen: ProgressInfo[] = [];
  const controller = new AbortController();
  const opts = { out, steps: 4, syntheticClasses: 2, syntheticCount: 32, batch: 8, ch: 4, sampleEvery: 0, svEvery: 0, standingPasses: 1 };
  const first = await lib.train({ ...opts, onProgress: (p) => { seen.push(p); if (p.step === 2) controller.abort(); }, signal: controller.signal });
  assert.equal(first.status, 'interrupted');
  assert.deepEqual(seen.map((p) => p.step), [1, 2]);
  assert.ok(seen.every((p) => Number.isFinite(p.gLoss) && p.total === 4));
  const second = await lib.train({ out, resume: true });
  assert.equal(second.status, 'completed');
  assert.equal(second.step, 4);
  const G = await lib.loadGenerator(path.join(out, 'checkpoint.safetensors'));
  assert.equal(G.info.numClasses, 2);
  const images = await G.sample({ classes: [1, 0] });
  assert.deepEqual(images.shape, [2, 3, 32, 32]);
  assert.match(images.labels[0], /^1 /);
  await G.dispose();
});

test('evaluate(): the numbers of `biggan eval` for a generator and for image files', { timeout: 300_000 }, async () => {
  const weights = path.join(HF, 'pytorch_model.bin');
  const lib1 = await lib.evaluate({ weights, inception: 'procedural', n: 20, seed: 4, truncation: 0.5, batch: 8 });
  const report = path.join(tmp, 'eval.json');
  const r = biggan(['eval', '--weights', weights, '--inception', 'procedural', '-n', '20', '--seed', '4', '--truncation', '0.5', '--batch', '8', '--out', report]);
  assert.equal(r.status, 0, r.stderr);
  const cli = JSON.parse(fs.readFileSync(report, 'utf8')) as { metrics: Record<string, number> };
  assert.deepEqual(Object.keys(lib1.metrics).sort(), ['is_mean', 'is_std']);
  assert.equal(lib1.metrics.is_mean, cli.metrics.is_mean);
  assert.equal(lib1.n, 20);

  const G = await lib.loadGenerator(weights);
  const imagesFile = path.join(tmp, 'gen.npy');
  await lib.writeNpy(imagesFile, await G.sample({ n: 12, seed: 5 }));
  await G.dispose();
  const scored = await lib.evaluate({ images: imagesFile, real: path.join(AJB, 'G_out.npy'), inception: 'procedural', metrics: ['fid', 'kid'], kidSubsets: 2, kidSubsetSize: 4 });
  const r2 = biggan(['eval', '--images', imagesFile, '--real', path.join(AJB, 'G_out.npy'), '--inception', 'procedural', '--metrics', 'fid,kid', '--kid-subsets', '2', '--kid-subset-size', '4', '--out', report]);
  assert.equal(r2.status, 0, r2.stderr);
  const cli2 = JSON.parse(fs.readFileSync(report, 'utf8')) as { metrics: Record<string, number> };
  assert.equal(scored.metrics.kid_mean, cli2.metrics.kid_mean);
  assert.ok(Math.abs(scored.metrics.fid - cli2.metrics.fid) <= 1e-9 * Math.max(1, Math.abs(cli2.metrics.fid)));
  await assert.rejects(lib.evaluate({ images: imagesFile, weights }), /either weights .* or images/);
  await assert.rejects(lib.evaluate({ images: imagesFile, inception: 'procedural', metrics: ['kid'] }), /KID needs the reference images/);
});
