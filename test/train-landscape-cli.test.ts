/**
 * `biggan train --arch` with the GAN-landscape architectures, through the CLI on the
 * embedded synthetic data at small widths: SNDCGAN at 32 (unconditional, the study's
 * setting) and ResNet19 at 128 (class-conditional, layer norm in D) each train and are
 * sampled from their checkpoint; every --d-norm runs and builds the D it names; a run
 * resumes bit for bit; the flags an architecture does not have are one-line errors; the
 * collapse watch leaves the conditional BN's class tables (which start at 0) alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { biggan, endsWithError, isCleanError } from './cli-helpers.js';
import { readNpy } from '../src/io/npy.js';
import { assertSameCheckpointTensors, straightAndResumed } from './checkpoint-compare.js';
import { readCheckpoint } from '../src/models/checkpoint.js';
import { readTrainingCheckpoint } from '../src/train/run/train-checkpoint.js';
import { readRunLog } from '../src/train/run/run-log.js';
import { architecture } from '../src/models/architectures.js';
import { architectureOptions } from '../src/train/run/build-models.js';
import { parseStoredConfig, resolveConfig } from '../src/train/run/config.js';
import { CollapseWatch, watchedLayers } from '../src/train/run/collapse-watch.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-train-arch-'));
const TINY = ['--ch', '4', '--batch', '4', '--dim-z', '16', '--threads', '1', '--synthetic-classes', '4', '--synthetic-count', '32', '--standing-passes', '2'];

/** `biggan sample` from a run's checkpoint: n images [n, 3, R, R], finite and in [-1, 1]. */
function sample(run: string, n: number, R: number, extra: string[] = []): Float32Array {
  const out = path.join(run, 'sampled.npy');
  const s = biggan(['sample', '--weights', path.join(run, 'checkpoint.safetensors'), '-n', String(n), '--out', out, '--no-cache', ...extra]);
  assert.equal(s.status, 0, s.stderr);
  const a = readNpy(out);
  assert.deepEqual(a.shape, [n, 3, R, R]);
  const data = a.data as Float32Array;
  assert.ok(data.every((v) => v >= -1 && v <= 1), 'sampled images outside [-1, 1]');
  assert.ok(new Set(data).size > 100, 'sampled images are flat');
  return data;
}

test('sndcgan 32x32, unconditional: trains through the CLI, checkpoints its spec, samples', () => {
  const run = path.join(tmp, 'sndcgan');
  const r = biggan(['train', '--arch', 'sndcgan', '--resolution', '32', '--unconditional', '--steps', '3', ...TINY, '--out', run]);
  assert.equal(r.status, 0, r.stderr);
  const file = path.join(run, 'checkpoint.safetensors');
  const ck = readTrainingCheckpoint(file);
  assert.equal(ck.meta.step, 3);
  assert.equal(ck.meta.config.arch, 'sndcgan');
  assert.equal(ck.meta.config.dNorm, 'spectral');
  assert.equal(ck.meta.config.unconditional, true);
  assert.equal(ck.meta.config.bnEps, 2e-5, "SNDCGAN's G batch norm epsilon (compare_gan v2)");
  const contents = readCheckpoint(file)!;
  assert.deepEqual(contents.G, { arch: 'sndcgan', role: 'G', config: { resolution: 32, ch: 4, zDim: 16, numClasses: 1, conditional: false, bnEps: 2e-5 } });
  assert.deepEqual(contents.D, { arch: 'sndcgan', role: 'D', config: { resolution: 32, ch: 4, numClasses: 1, conditional: false, norm: 'spectral', snEps: 1e-6 } });
  assert.deepEqual(contents.classNames, [], 'an unconditional model has no class names');
  const start = readRunLog(path.join(run, 'log.jsonl')).find((x) => x.type === 'start')!;
  assert.ok((start.parameters as { G: number }).G > 0);
  assert.ok(fs.existsSync(path.join(run, 'samples', 'final.png')));
  // no class input: any class gives the same images
  const a = sample(run, 4, 32, ['--seed', '3']);
  const b = sample(run, 4, 32, ['--seed', '3', '--classes', '0']);
  assert.deepEqual(b, a);
});

test('resnet19 128x128, class-conditional, layer norm in D: trains through the CLI and samples per class', () => {
  const run = path.join(tmp, 'resnet19');
  const r = biggan(['train', '--arch', 'resnet19', '--resolution', '128', '--d-norm', 'layer', '--steps', '2', ...TINY, '--ch', '2', '--batch', '2', '--out', run]);
  assert.equal(r.status, 0, r.stderr);
  const contents = readCheckpoint(path.join(run, 'checkpoint.safetensors'))!;
  assert.equal(contents.G!.arch, 'resnet19');
  assert.deepEqual(contents.D!.config, { resolution: 128, ch: 2, numClasses: 4, conditional: true, norm: 'layer', snEps: 1e-6 });
  assert.equal(contents.classNames!.length, 4);
  const d = [...contents.tensors.keys()].filter((k) => k.startsWith('D.'));
  assert.ok(d.includes('D.blocks.0.norm1.gain') && d.includes('D.embed.weight') && !d.some((k) => k.includes('sn_u')), d.join(' '));
  const x = sample(run, 2, 128, ['--classes', '1', '--seed', '1']);
  const y = sample(run, 2, 128, ['--classes', '3', '--seed', '1']);
  assert.ok(x.some((v, i) => v !== y[i]), 'the class changes the images');
});

test('--d-norm: each normalisation trains, and D holds what it names', () => {
  const cases: [string, string, (keys: string[]) => boolean][] = [
    ['resnet-cifar', 'spectral', (k) => k.some((n) => n.endsWith('.w.sn_u')) && !k.some((n) => n.includes('norm1'))],
    ['resnet-cifar', 'none', (k) => !k.some((n) => n.includes('sn_u') || n.includes('norm1'))],
    ['resnet-cifar', 'batch', (k) => k.includes('D.blocks.3.norm2.stored_var') && !k.some((n) => n.includes('sn_u'))],
    ['resnet-cifar', 'layer', (k) => k.includes('D.blocks.3.norm2.gain') && !k.some((n) => n.includes('stored_') || n.includes('sn_u'))],
    ['sndcgan', 'none', (k) => k.includes('D.convs.6.weight') && !k.some((n) => n.includes('sn_u'))],
  ];
  for (const [arch, norm, holds] of cases) {
    const run = path.join(tmp, `${arch}-${norm}`);
    const r = biggan(['train', '--arch', arch, '--resolution', '32', '--d-norm', norm, '--unconditional', '--steps', '2', ...TINY, '--out', run]);
    assert.equal(r.status, 0, `${arch} --d-norm ${norm}: ${r.stderr}`);
    const keys = [...readCheckpoint(path.join(run, 'checkpoint.safetensors'))!.tensors.keys()].filter((k) => k.startsWith('D.'));
    assert.ok(holds(keys), `${arch} --d-norm ${norm}: D holds ${keys.join(' ')}`);
    const losses = readRunLog(path.join(run, 'log.jsonl')).filter((x) => x.type === 'train');
    assert.ok(losses.length === 2 && losses.every((l) => Number.isFinite(l.d_loss_real) && Number.isFinite(l.g_loss)));
  }
});

test('resume: resnet-cifar (batch norm in D, unconditional) for 2 steps, then --resume to 4 == 4 straight, bit for bit', () => {
  const args = ['train', '--arch', 'resnet-cifar', '--d-norm', 'batch', '--unconditional', ...TINY, '--checkpoint-every', '2', '--seed', '7', '--ema-start', '1'];
  const { straight, resumed: b, stderr } = straightAndResumed(args, tmp);
  assert.match(stderr, /resuming .* at step 2 of 4/);
  const cb = assertSameCheckpointTensors(straight, b);
  assert.equal(cb.meta.config.arch, 'resnet-cifar');
  assert.ok(cb.tensors.has('D.blocks.0.norm1.stored_mean') && cb.tensors.has('D_adam.blocks.0.conv1.weight.exp_avg'));
  // the architecture, its D normalisation and the conditioning are the run's: a resume cannot change them
  const changed = biggan(['train', '--out', b, '--resume', '--d-norm', 'layer']);
  assert.ok(endsWithError(changed), changed.stderr);
  assert.match(changed.stderr, /cannot change the model.*dNorm "batch" -> "layer"/);
});

test('what an architecture does not have is a one-line error', () => {
  const cases: [string[], RegExp][] = [
    [['--arch', 'sndcgan', '--d-norm', 'batch'], /--d-norm batch is not available for sndcgan \(have spectral, none\)/],
    [['--arch', 'biggan', '--d-norm', 'layer'], /--d-norm layer is not available for biggan \(have spectral\)/],
    [['--arch', 'resnet19', '--resolution', '32'], /--resolution 32 is not available for resnet19 \(have 128\)/],
    [['--arch', 'resnet-cifar', '--resolution', '128'], /--resolution 128 is not available for resnet-cifar \(have 32\)/],
    [['--arch', 'sndcgan', '--g-attn', '64'], /--g-attn does not apply to --arch sndcgan/],
    [['--arch', 'resnet19', '--shared-dim', '64'], /--shared-dim does not apply to --arch resnet19/],
    [['--arch', 'sndcgan', '--sigma-reg', '1', '--sigma-reg-strength', '0.1'], /the sndcgan generator has none/],
    [['--arch', 'resnet50'], /argument 'resnet50' is invalid/],
    [['--d-norm', 'weight'], /argument 'weight' is invalid/],
  ];
  for (const [flags, message] of cases) {
    const r = biggan(['train', ...flags, '--steps', '1', ...TINY, '--out', path.join(tmp, 'refused')]);
    assert.ok(isCleanError(r) || endsWithError(r), `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, flags.join(' '));
    assert.ok(!fs.existsSync(path.join(tmp, 'refused', 'checkpoint.safetensors')));
  }
});

test("the collapse watch ignores class tables: a conditional BN table growing from 0 is no explosion, a layer's weight is", () => {
  const c = resolveConfig({ arch: 'sndcgan', resolution: 32, gCh: 4 });
  const G = architecture('sndcgan').buildGenerator(architectureOptions(c, 4));
  const all = Object.fromEntries(G.namedParams().filter(([, p]) => p.trainable && p.shape.length >= 2).map(([path]) => [path, [1, 0.5, 0.2]]));
  assert.ok('bns.0.gain.weight' in all && 'deconvs.0.weight' in all);
  const watched = watchedLayers(G, all);
  assert.deepEqual(Object.keys(watched), ['linear.weight', 'deconvs.0.weight', 'deconvs.1.weight', 'deconvs.2.weight', 'to_rgb.weight']);
  const grown = (layer: string, step: number): Record<string, number[]> => ({ ...all, [layer]: [step === 0 ? 0.01 : 1, 0, 0] });
  for (const [layer, explodes] of [['bns.1.bias.weight', false], ['deconvs.1.weight', true]] as const) {
    const watch = new CollapseWatch({ ...c.collapse, warmup: 0 });
    assert.equal(watch.onSingularValues(0, watchedLayers(G, grown(layer, 0))), null);
    assert.equal(watch.onSingularValues(25, watchedLayers(G, grown(layer, 25)))?.kind === 'sigma-explosion', explodes, layer);
  }
});

test('run config: defaults that depend on the architecture come from its registry entry; runs saved before it resume as spectral, conditional', () => {
  const biggan = resolveConfig({ data: 'x' });
  assert.deepEqual([biggan.arch, biggan.resolution, biggan.gCh, biggan.dimZ, biggan.bnEps, biggan.dNorm, biggan.unconditional], ['biggan', 128, 96, 120, 1e-5, 'spectral', false]);
  const s = resolveConfig({ data: 'x', arch: 'sndcgan' });
  assert.deepEqual([s.resolution, s.gCh, s.dCh, s.dimZ, s.bnEps], [128, 64, 64, 128, 2e-5]);
  const rc = resolveConfig({ data: 'x', arch: 'resnet-cifar', dNorm: 'layer', unconditional: true });
  assert.deepEqual([rc.resolution, rc.gCh, rc.dCh, rc.dimZ, rc.bnEps, rc.dNorm, rc.unconditional], [32, 128, 128, 128, 1e-5, 'layer', true]);
  // the demo (no --data) runs at 32 where the architecture has it, else at its own resolution
  assert.equal(resolveConfig({ arch: 'sndcgan' }).resolution, 32);
  assert.equal(resolveConfig({ arch: 'resnet19' }).resolution, 128);
  const old: Record<string, unknown> = { ...resolveConfig({}) };
  delete old.dNorm;
  delete old.unconditional;
  const parsed = parseStoredConfig(old, 'old.safetensors');
  assert.equal(parsed.dNorm, 'spectral');
  assert.equal(parsed.unconditional, false);
});
