/**
 * The package as a user gets it: `npm pack`, install the tarball into a fresh
 * project, run the README's library example from plain ESM, and type-check a
 * TypeScript file against the published declarations (node16, nodenext and
 * bundler resolution; strict mode must reject a mistyped option).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PT_REF, REPO_ROOT } from './fixture-paths.js';
import { CLI, TEST_CACHE_DIR } from './cli-helpers.js';
import { readNpy } from '../src/io/npy.js';
import { readPng } from '../src/image/png-read.js';
import { maxAbsDiff } from './array-diff.js';

const HF = path.join(PT_REF, 'hf-biggan-deep-128-w8');
const SET = path.join(HF, 'sets', 't0.4_onehot');
const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const proj = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-pack-'));
// the install holds ~360 MB of dependencies: never leave it behind
after(() => fs.rmSync(proj, { recursive: true, force: true }));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// onnxruntime-node's install script would fetch CUDA binaries; the CPU build ships in the package
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', BIGGAN_CACHE_DIR: TEST_CACHE_DIR, npm_config_update_notifier: 'false' };

/** The README's "Library" example, word for word. */
const EXAMPLE = `import { loadGenerator, readNpy, writeNpy, writeImageSheet } from 'biggan-ts';

const G = await loadGenerator('biggan-deep-128-pytorch_model.bin');   // config.json beside it, or { config: 'file.json' }
const images = await G.sample({ classes: ['golden retriever', 207], truncation: 0.4, seed: 0 }); // one image per class
console.log(images.shape);            // [2, 3, 128, 128]; images.data is a Float32Array, NCHW in [-1, 1]
await writeImageSheet(images, 'dogs.png');
const exact = await G.sample({ z: await readNpy('z.npy'), classVector: await readNpy('classes.npy'), truncation: 0.4 });
await writeNpy('exact.npy', exact);   // same numbers as \`biggan sample --z z.npy --class-vector classes.npy\`
await G.dispose();
console.log(JSON.stringify({ isFloat32: images.data instanceof Float32Array, labels: images.labels }));
`;

const TYPED = `import { loadGenerator, loadDiscriminator, train, loadInception, frechetInceptionDistance, inceptionScore, kernelInceptionDistance,
  featureStatistics, readStatsFile, writeStatsFile, writeImageSheet, readNpy, writeNpy, UserError, type Images, type TrainOptions, type ProgressInfo } from 'biggan-ts';
import { sampleInputs, resolveClasses, imagenetClasses, type GeneratorInfo } from 'biggan-ts/core';

export async function main(): Promise<number> {
  const G = await loadGenerator('biggan-deep-128-pytorch_model.bin', { config: 'config.json', threads: 1 });
  const images: Images = await G.sample({ classes: ['golden retriever', 207, 'n02099601'], truncation: 0.4, seed: 0, n: 3, batch: 2 });
  const width: number = images.shape[3];
  const pixels: Float32Array = images.data;
  // @ts-expect-error truncation is a number
  await G.sample({ truncation: 'high' });
  const row = await G.interpolate({ kind: 'class', steps: 4, classes: [1, 2] });
  await writeImageSheet(row, 'row.png', { columns: 4 });
  await writeNpy('x.npy', images);
  const z = await readNpy('x.npy');
  const info: GeneratorInfo = G.info;
  const inputs = sampleInputs(info, { classes: resolveClasses(['goldfish'], 1000), seed: 1 });
  const opts: TrainOptions = { out: 'run', steps: 2, ch: 8, onProgress: (p: ProgressInfo) => void p.gLoss };
  const D = await loadDiscriminator('D.pth');
  const logits = await D.score(images, [1, 2, 3]);
  const inception = await loadInception({ weights: 'procedural' });
  const { pool3 } = await inception.features(images, { logits: true });
  const fid: number = frechetInceptionDistance(pool3, await readStatsFile('stats.npz'));
  await writeStatsFile('s.npz', featureStatistics(pool3));
  const is = inceptionScore(pool3).mean + kernelInceptionDistance(pool3, pool3).mean;
  const result = await train(opts);
  await G.dispose();
  const e: unknown = new UserError('x');
  return width + pixels.length + z.shape.length + inputs.n + logits.data.length + fid + is + (result.status === 'completed' ? 1 : 0) + imagenetClasses().length + (e instanceof UserError ? 1 : 0);
}
`;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
}

test('npm pack installs into a fresh project; the README example runs from plain ESM', { timeout: 600_000 }, () => {
  const packed = run(npm, ['pack', '--ignore-scripts', '--pack-destination', proj, '--json'], REPO_ROOT);
  const tarball = path.join(proj, (JSON.parse(packed) as { filename: string }[])[0].filename);
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, '@types/node@20'], proj);
  assert.ok(fs.existsSync(path.join(proj, 'node_modules', 'biggan-ts', 'dist', 'src', 'index.d.ts')), 'declarations are in the package');

  fs.copyFileSync(path.join(HF, 'pytorch_model.bin'), path.join(proj, 'biggan-deep-128-pytorch_model.bin'));
  fs.copyFileSync(path.join(HF, 'config.json'), path.join(proj, 'config.json'));
  fs.copyFileSync(path.join(SET, 'z.npy'), path.join(proj, 'z.npy'));
  fs.copyFileSync(path.join(SET, 'class_vector.npy'), path.join(proj, 'classes.npy'));
  fs.writeFileSync(path.join(proj, 'example.mjs'), EXAMPLE);

  const out = run(process.execPath, ['example.mjs'], proj).trim().split('\n');
  assert.deepEqual(out[0].replace(/\s+/g, ''), '[2,3,128,128]');
  const facts = JSON.parse(out[1]) as { isFloat32: boolean; labels: string[] };
  assert.ok(facts.isFloat32);
  assert.deepEqual(facts.labels, ['207 golden retriever', '207 golden retriever']);
  assert.deepEqual(readPng(path.join(proj, 'dogs.png')).width > 256, true);

  // the library's numbers are the CLI's, and PyTorch's within the fixture tolerance
  const exact = readNpy(path.join(proj, 'exact.npy'));
  const cli = path.join(proj, 'cli.npy');
  const r = spawnSync(process.execPath, [path.join(proj, 'node_modules', '.bin', 'biggan'), 'sample', '--weights', 'biggan-deep-128-pytorch_model.bin', '--z', 'z.npy', '--class-vector', 'classes.npy', '--truncation', '0.4', '--out', cli], { cwd: proj, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(exact.shape, readNpy(cli).shape);
  assert.equal(maxAbsDiff(exact.data as Float32Array, readNpy(cli).data as Float32Array), 0);
  assert.ok(maxAbsDiff(exact.data as Float32Array, readNpy(path.join(SET, 'output.npy')).data as Float32Array) <= 1e-4);
  assert.ok(fs.existsSync(CLI));
});

test('the published declarations type-check strict TypeScript (node16, nodenext, bundler) and reject a mistyped option', { timeout: 300_000 }, () => {
  assert.ok(fs.existsSync(path.join(proj, 'node_modules', 'biggan-ts')), 'the packed install of the previous test');
  fs.writeFileSync(path.join(proj, 'use.ts'), TYPED);
  for (const [module, resolution] of [['node16', 'node16'], ['nodenext', 'nodenext'], ['esnext', 'bundler']]) {
    const tsconfig = { compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module, moduleResolution: resolution, types: ['node'], skipLibCheck: false }, files: ['use.ts'] };
    fs.writeFileSync(path.join(proj, 'tsconfig.json'), JSON.stringify(tsconfig));
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: proj, env, encoding: 'utf8' });
    assert.equal(r.status, 0, `${resolution}: ${r.stdout}${r.stderr}`);
  }
  // without the expect-error marker, the mistyped truncation is the one error
  fs.writeFileSync(path.join(proj, 'use.ts'), TYPED.replace('  // @ts-expect-error truncation is a number\n', ''));
  const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: proj, env, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l));
  assert.equal(errors.length, 1, r.stdout);
  assert.match(errors[0], /use\.ts\(10,.*TS2322.*'string' is not assignable to type 'number'/);
});
