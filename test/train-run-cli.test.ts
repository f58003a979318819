/**
 * `biggan train` / `plot` / `d-accuracy` / `sample` on a trained checkpoint, through
 * the CLI: a short run on the embedded data, sampling with the EMA generator and its
 * standing statistics (independent of the sampling batch), the NaN stop keeping the
 * last good checkpoint, bad-data and bad-flag errors, the plot and the memorization
 * test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { biggan, endsWithError, isCleanError } from './cli-helpers.js';
import { readNpy } from '../src/io/npy.js';
import { readPng } from '../src/image/png-read.js';
import { writePng } from '../src/image/image-grid.js';
import { generatorFromCheckpoint, readCheckpoint, section } from '../src/models/checkpoint.js';
import { Sampler } from '../src/sample/sampler.js';
import { readTrainingCheckpoint } from '../src/train/run/train-checkpoint.js';
import { readRunLog } from '../src/train/run/run-log.js';
import { StandingStatistics } from '../src/train/run/standing-stats.js';
import { drawClasses, drawLatents, streamRng } from '../src/train/run/latents.js';
import { loadStateDict } from '../src/models/load-state.js';
import { maxAbsDiff } from './array-diff.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-train-cli-'));
const NET = ['--ch', '4', '--batch', '4', '--dim-z', '16', '--shared-dim', '8', '--threads', '1', '--graphs', 'per-step'];
const TINY = [...NET, '--synthetic-classes', '4', '--synthetic-count', '64'];

const RUN = path.join(tmp, 'run');


test('train on the embedded data: checkpoints, log, samples; sample uses G_ema + standing statistics, any batch size', async () => {
  const r = biggan(['train', ...TINY, '--steps', '6', '--checkpoint-every', '3', '--standing-passes', '4', '--ema-start', '2', '--sv-every', '3', '--out', RUN]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /embedded synthetic dataset/);
  for (const f of ['checkpoint.safetensors', 'checkpoints/step-00000003.safetensors', 'checkpoints/step-00000006.safetensors', 'samples/final.png', 'log.jsonl', 'config.json']) {
    assert.ok(fs.existsSync(path.join(RUN, f)), f);
  }
  const log = readRunLog(path.join(RUN, 'log.jsonl'));
  assert.deepEqual(log.filter((x) => x.type === 'train').map((x) => x.step), [1, 2, 3, 4, 5, 6]);
  const sv = log.find((x) => x.type === 'sv')!;
  const g = sv.G as Record<string, number[]>;
  assert.ok(Object.keys(g).length > 5 && Object.values(g).every((v) => v.length === 3 && v[0] >= v[1] && v[1] >= v[2] && v[2] > 0));
  assert.ok(Object.keys(sv.D as object).length > 5);
  const train = log.find((x) => x.type === 'train')!;
  for (const k of ['d_loss_real', 'd_loss_fake', 'g_loss', 'd_grad_norm', 'g_grad_norm', 'g_lr', 'd_lr', 'it_per_s', 'img_per_s']) assert.equal(typeof train[k], 'number', k);

  // the checkpoint: G_ema.* carries the standing statistics, G_ema_running.* the EMA's own
  const file = path.join(RUN, 'checkpoint.safetensors');
  const ck = readTrainingCheckpoint(file);
  assert.deepEqual(ck.meta.standing, { passes: 4, batch: 4 });
  const running = section(ck.tensors, 'G_ema_running');
  assert.ok(running.size > 0 && [...running.keys()].every((k) => /stored_(mean|var)$/.test(k)));
  // recompute the standing statistics independently: same passes, same draws
  const contents = readCheckpoint(file)!;
  const ema = generatorFromCheckpoint(contents, file, 'G_ema');
  loadStateDict(ema, new Map([...section(ck.tensors, 'G_ema'), ...running]), { source: file });
  const st = await StandingStatistics.create(ema, 4);
  const stats = await st.compute(4, (pass) => {
    const rng = streamRng(0, 'standing', 6 * 4096 + pass);
    return { z: drawLatents(rng, 4 * ema.zDim, 'normal', 1), y: drawClasses(rng, 4, ema.numClasses) };
  });
  await st.release();
  for (const [k, v] of stats) {
    assert.ok(maxAbsDiff(v, ck.tensors.get(`G_ema.${k}`)!.data as Float32Array) === 0, `standing ${k}`);
    assert.ok(maxAbsDiff(v, running.get(k)!.data as Float32Array) > 1e-4, `standing ${k} differs from the running average`);
  }

  // biggan sample: independent of the batch size, = G_ema with standing statistics, != G, != running statistics
  const outs = [1, 3, 10].map((b) => {
    const out = path.join(tmp, `s${b}.npy`);
    const s = biggan(['sample', '--weights', file, '-n', '10', '--seed', '2', '--batch', String(b), '--out', out, '--no-cache']);
    assert.equal(s.status, 0, s.stderr);
    return readNpy(out).data as Float32Array;
  });
  const batchDiff = Math.max(maxAbsDiff(outs[0], outs[1]), maxAbsDiff(outs[0], outs[2]));
  assert.ok(batchDiff < 1e-5, `batch 1 vs 3 vs 10: max diff ${batchDiff}`);
  const z = drawLatents(streamRng(9, 'sheet', 0), 10 * ema.zDim, 'normal', 1);
  const cv = new Float32Array(10 * ema.numClasses).map((_, i) => (i % ema.numClasses === Math.floor(i / ema.numClasses) % ema.numClasses ? 1 : 0));
  const gen = async (model: typeof ema) => {
    const s = Sampler.of(model);
    const out = await s.generate({ z, classVectors: cv, n: 10, truncation: 1 }, 10);
    await s.release();
    return out;
  };
  const withStanding = await gen(generatorFromCheckpoint(contents, file, 'G_ema'));
  const plainG = await gen(generatorFromCheckpoint(contents, file, 'G'));
  const runningStats = await gen(ema);
  assert.ok(maxAbsDiff(withStanding, plainG) > 1e-3, 'EMA weights, not G');
  assert.ok(maxAbsDiff(withStanding, runningStats) > 1e-4, 'standing statistics, not the running ones');
  console.log(`sample batch 1/3/10 max diff ${batchDiff.toExponential(2)}; vs G ${maxAbsDiff(withStanding, plainG).toFixed(3)}, vs running stats ${maxAbsDiff(withStanding, runningStats).toFixed(4)}`);
});

test('plot writes the three-panel PNG; d-accuracy reports both shares', () => {
  const r = biggan(['plot', RUN]);
  assert.equal(r.status, 0, r.stderr);
  const png = readPng(path.join(RUN, 'plot.png'));
  assert.equal(png.width, 900);
  assert.equal(png.height, 1200);
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  assert.ok(isCleanError(biggan(['plot', empty])));

  const d = biggan(['d-accuracy', '--weights', path.join(RUN, 'checkpoint.safetensors'), '--json', '--batch', '16', '--threads', '1']);
  assert.equal(d.status, 0, d.stderr);
  const j = JSON.parse(d.stdout);
  assert.equal(j.train.n, 64);
  assert.equal(j.held_out.n, 64);
  assert.ok(j.train.realShare >= 0 && j.train.realShare <= 1 && j.held_out.realShare >= 0 && j.held_out.realShare <= 1);
  assert.ok(isCleanError(biggan(['d-accuracy', '--weights', path.join(RUN, 'checkpoint.safetensors'), '--train', path.join(tmp, 'nope')])));
});

test('a NaN stops the run with one line and leaves the last good checkpoint untouched', () => {
  const dir = path.join(tmp, 'nan');
  const r = biggan(['train', ...TINY, '--steps', '8', '--checkpoint-every', '2', '--standing-passes', '1', '--out', dir], { BIGGAN_TRAIN_FAULT: 'nan@5' });
  assert.ok(endsWithError(r), r.stderr);
  assert.match(r.stderr, /diverged at step 5 .*NaN.*the last good one is .*checkpoint\.safetensors \(step 4\)/);
  const ck = readTrainingCheckpoint(path.join(dir, 'checkpoint.safetensors'));
  assert.equal(ck.meta.step, 4);
  for (const [k, t] of ck.tensors) assert.ok((t.data as Float32Array).every(Number.isFinite), k);
  assert.ok(fs.readFileSync(path.join(dir, 'checkpoint.safetensors')).equals(fs.readFileSync(path.join(dir, 'checkpoints/step-00000004.safetensors'))));
  assert.ok(!fs.existsSync(path.join(dir, 'checkpoints/step-00000006.safetensors')));
  const log = readRunLog(path.join(dir, 'log.jsonl'));
  assert.equal(log[log.length - 1].type, 'diverged');
});

test('bad data and bad flags: one-line errors before training', () => {
  const folder = path.join(tmp, 'images');
  for (const cls of ['cats', 'dogs']) {
    fs.mkdirSync(path.join(folder, cls), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const rgba = new Uint8Array(40 * 36 * 4).map((_, k) => (k % 4 === 3 ? 255 : (k * (i + 3) + (cls === 'cats' ? 0 : 90)) % 256));
      writePng(path.join(folder, cls, `${i}.png`), rgba, 40, 36);
    }
  }
  const broken = path.join(folder, 'dogs', 'broken.png');
  fs.writeFileSync(broken, Buffer.from('not an image at all'));
  const cache = path.join(tmp, 'cache');
  fs.mkdirSync(cache);
  const base = ['train', ...NET, '--resolution', '32', '--cache', cache, '--steps', '1', '--standing-passes', '1'];

  const bad = biggan([...base, '--data', folder, '--out', path.join(tmp, 'bad1')]);
  assert.ok(endsWithError(bad), bad.stderr); // after the data-preparation progress line
  assert.match(bad.stderr, /broken\.png/);
  assert.ok(!fs.existsSync(path.join(tmp, 'bad1')), 'a run that fails validation leaves no run folder');
  const skipped = biggan([...base, '--data', folder, '--skip-bad', '--out', path.join(tmp, 'bad2')]);
  assert.equal(skipped.status, 0, skipped.stderr);
  assert.match(skipped.stderr, /skip/i);
  assert.deepEqual(readTrainingCheckpoint(path.join(tmp, 'bad2', 'checkpoint.safetensors')).classNames, ['cats', 'dogs']);

  const cases: [string[], RegExp][] = [
    [['--data', path.join(tmp, 'missing'), '--out', path.join(tmp, 'bad3')], /does not exist/],
    [['--data', folder, '--skip-bad', '--batch', '20', '--out', path.join(tmp, 'bad4')], /fewer than one batch/],
    [['--out', path.join(tmp, 'bad2')], /already holds a run.*--resume/],
    [['--out', path.join(tmp, 'bad2'), '--resume', '--batch', '2'], /cannot change/],
    [['--sigma-reg', '1', '--out', path.join(tmp, 'bad5')], /--sigma-reg-strength > 0/],
    [['--ortho-variant', 'sideways', '--out', path.join(tmp, 'bad6')], /sideways/],
    [['--resolution', '48', '--out', path.join(tmp, 'bad7')], /resolution 48/],
  ];
  for (const [args, message] of cases) {
    const e = biggan([...base, ...args]);
    assert.ok(endsWithError(e) || isCleanError(e), `${args.join(' ')}: ${e.stderr}`);
    assert.match(e.stderr, message, args.join(' '));
    const out = args[args.indexOf('--out') + 1]!;
    if (!out.endsWith('bad2')) assert.ok(!fs.existsSync(out), `${args.join(' ')}: no run folder left behind`);
  }
});

test('collapse watch through the CLI: stop with a report naming the last healthy checkpoint, and roll back to it', () => {
  const dir = path.join(tmp, 'collapse');
  // a hair-trigger sigma threshold makes ordinary early growth count as an explosion at step 4
  const r = biggan([
    'train', ...TINY, '--steps', '12', '--checkpoint-every', '1', '--standing-passes', '1', '--sv-every', '2', '--sample-every', '0',
    '--collapse-warmup', '4', '--collapse-sigma-factor', '1.000001', '--collapse-action', 'rollback', '--out', dir,
  ]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /collapse detected at step 4:\n\s+- sigma-explosion: .*G's .* grew/);
  assert.match(r.stderr, /last healthy checkpoint: .*step-00000002\.safetensors \(step 2\)/);
  assert.equal(fs.readFileSync(path.join(dir, 'collapse-report.txt'), 'utf8').trim(), r.stderr.trim().split('\n').slice(-4).join('\n'));
  // rolled back: checkpoint.safetensors is step 2 again (it was step 3), and --resume continues from there
  assert.equal(readTrainingCheckpoint(path.join(dir, 'checkpoint.safetensors')).meta.step, 2);
  const log = readRunLog(path.join(dir, 'log.jsonl'));
  assert.equal(log[log.length - 1].type, 'collapse');
  const again = biggan(['train', '--out', dir, '--resume', '--no-collapse-watch', '--steps', '4']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /resuming .* at step 2 of 4/);
});

test('BigGAN-deep: trains, resumes, and samples with standing statistics independent of the batch', () => {
  const dir = path.join(tmp, 'deep');
  const args = ['train', '--arch', 'biggan-deep', ...TINY, '--ch', '8', '--checkpoint-every', '2', '--standing-passes', '2', '--ema-start', '1', '--out', dir];
  const r = biggan([...args, '--steps', '2']);
  assert.equal(r.status, 0, r.stderr);
  const r2 = biggan([...args, '--steps', '3', '--resume']);
  assert.equal(r2.status, 0, r2.stderr);
  const ck = readTrainingCheckpoint(path.join(dir, 'checkpoint.safetensors'));
  assert.equal(ck.meta.step, 3);
  assert.ok([...ck.tensors.keys()].some((k) => /^G_ema_running\..*running_means$/.test(k)));
  const outs = [1, 4].map((b) => {
    const out = path.join(tmp, `deep${b}.npy`);
    const s = biggan(['sample', '--weights', path.join(dir, 'checkpoint.safetensors'), '-n', '4', '--batch', String(b), '--out', out, '--no-cache']);
    assert.equal(s.status, 0, s.stderr);
    return readNpy(out).data as Float32Array;
  });
  assert.ok(maxAbsDiff(outs[0], outs[1]) < 1e-5);
});
