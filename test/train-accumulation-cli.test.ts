/**
 * `biggan train --d-accumulations / --g-accumulations` through the CLI on a tiny model:
 * a run stopped half-way and resumed (the accumulations coming from the stored config)
 * ends bit-identical to a run straight through, with the data loader exactly
 * dSteps × dAccumulations batches further per iteration; accumulations of 1 change
 * nothing; bad values are one-line errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { biggan, isCleanError } from './cli-helpers.js';
import { readTrainingCheckpoint, type TrainingCheckpoint } from '../src/train/run/train-checkpoint.js';
import { readRunLog } from '../src/train/run/run-log.js';
import { syntheticDataset } from '../src/data/synthetic.js';
import { BatchLoader } from '../src/data/batch-loader.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-accumulation-'));
const NET = ['--ch', '4', '--batch', '2', '--dim-z', '16', '--shared-dim', '8', '--threads', '1', '--synthetic-classes', '4', '--synthetic-count', '32'];
const RUN = [...NET, '--checkpoint-every', '2', '--sv-every', '2', '--sample-every', '4', '--standing-passes', '2', '--ema-start', '3', '--log-every', '1', '--seed', '5'];
const ACC = ['--d-steps', '2', '--d-accumulations', '2', '--g-accumulations', '3'];

function logged(dir: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const r of readRunLog(path.join(dir, 'log.jsonl'))) {
    if (r.type === 'train') out.set(r.step, [r.d_loss_real, r.d_loss_fake, r.g_loss, r.d_grad_norm, r.g_grad_norm, r.g_grad_norm_total] as number[]);
  }
  return out;
}

/** Every tensor of two checkpoints identical bit for bit; returns how many. */
function sameTensors(a: TrainingCheckpoint, b: TrainingCheckpoint): number {
  assert.deepEqual([...b.tensors.keys()].sort(), [...a.tensors.keys()].sort());
  for (const [name, t] of a.tensors) {
    const u = b.tensors.get(name)!;
    assert.deepEqual(u.shape, t.shape, name);
    assert.ok(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), `${name} differs`);
  }
  return a.tensors.size;
}

test('train with accumulation: stopped at step 3 and resumed to 6 == 6 steps straight, bit for bit', () => {
  const a = path.join(tmp, 'straight');
  const b = path.join(tmp, 'resumed');
  const r1 = biggan(['train', ...RUN, ...ACC, '--steps', '6', '--out', a]);
  assert.equal(r1.status, 0, r1.stderr);
  const half = biggan(['train', ...RUN, ...ACC, '--steps', '3', '--out', b]);
  assert.equal(half.status, 0, half.stderr);
  // the accumulations come back from the checkpoint's config, not from the command line
  const r2 = biggan(['train', '--out', b, '--resume', '--steps', '6', '--threads', '1']);
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stderr, /resuming .* at step 3 of 6/);
  assert.doesNotMatch(r2.stderr, /changed/);

  const ca = readTrainingCheckpoint(path.join(a, 'checkpoint.safetensors'));
  const cb = readTrainingCheckpoint(path.join(b, 'checkpoint.safetensors'));
  assert.equal(ca.meta.step, 6);
  assert.equal(cb.meta.step, 6);
  assert.equal(ca.meta.config.dAccumulations, 2);
  assert.equal(ca.meta.config.gAccumulations, 3);
  assert.deepEqual(cb.meta.config, ca.meta.config);
  const n = sameTensors(ca, cb);
  assert.deepEqual(cb.meta.loader, ca.meta.loader);

  // each iteration took d-steps x d-accumulations = 4 loader batches of 2
  const loader = new BatchLoader(syntheticDataset({ numClasses: 4, count: 32, resolution: 32, seed: 0 }), { batchSize: 2, seed: 5, flip: false });
  for (let i = 0; i < 6 * 4; i++) loader.next();
  assert.deepEqual(ca.meta.loader, loader.state());

  const la = logged(a);
  const lb = logged(b);
  assert.deepEqual([...la.keys()], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...lb.keys()], [...la.keys()]);
  for (const [step, v] of la) assert.deepEqual(lb.get(step), v, `logged values at step ${step}`);
  console.log(`${n} tensors identical after stopping at step 3 and resuming; loader at epoch ${ca.meta.loader.epoch} batch ${ca.meta.loader.batch}`);
});

test('--d-accumulations 1 --g-accumulations 1 is the run without them, bit for bit', () => {
  const a = path.join(tmp, 'plain');
  const b = path.join(tmp, 'k1');
  const r1 = biggan(['train', ...RUN, '--steps', '3', '--out', a]);
  assert.equal(r1.status, 0, r1.stderr);
  const r2 = biggan(['train', ...RUN, '--steps', '3', '--d-accumulations', '1', '--g-accumulations', '1', '--out', b]);
  assert.equal(r2.status, 0, r2.stderr);
  const ca = readTrainingCheckpoint(path.join(a, 'checkpoint.safetensors'));
  const cb = readTrainingCheckpoint(path.join(b, 'checkpoint.safetensors'));
  assert.equal(ca.meta.config.dAccumulations, 1);
  assert.equal(ca.meta.config.gAccumulations, 1);
  sameTensors(ca, cb);
  assert.deepEqual(cb.meta.loader, ca.meta.loader);
  assert.deepEqual([...logged(b)], [...logged(a)]);
});

test('bad accumulation flags: one-line errors', () => {
  const cases: [string[], RegExp][] = [
    [['--d-accumulations', '0'], /--d-accumulations.*expected a positive integer, got "0"/],
    [['--g-accumulations', 'abc'], /--g-accumulations.*expected a positive integer, got "abc"/],
    [['--d-accumulations', '2.5'], /--d-accumulations.*expected a positive integer/],
    [['--graphs', 'single', '--d-accumulations', '2'], /--graphs single cannot be combined with --d-accumulations 2/],
    [['--graphs', 'single', '--g-accumulations', '3'], /--graphs single cannot be combined with --g-accumulations 3/],
  ];
  for (const [args, message] of cases) {
    const out = path.join(tmp, `bad-${args.join('-')}`);
    const e = biggan(['train', ...NET, '--steps', '1', ...args, '--out', out]);
    assert.ok(isCleanError(e), `${args.join(' ')}: status ${e.status}, ${e.stderr}`);
    assert.match(e.stderr, message, args.join(' '));
    assert.ok(!fs.existsSync(path.join(out, 'checkpoint.safetensors')));
  }
  // a run keeps its accumulations on resume (they fix the effective batch and the data per iteration)
  const e = biggan(['train', '--out', path.join(tmp, 'resumed'), '--resume', '--d-accumulations', '1']);
  assert.ok(isCleanError(e), e.stderr);
  assert.match(e.stderr, /cannot change .*dAccumulations 2 -> 1/);
});
