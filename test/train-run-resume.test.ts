/**
 * Exact resume through the CLI: N iterations straight, against N/2-ish iterations, a
 * real SIGKILL of the child process mid-run, and `--resume` to N. Every tensor of
 * the final checkpoints (G, D, G_ema with standing statistics, the EMA's running
 * statistics, Adam moments and steps) must be identical bit for bit, and so must
 * the logged losses of the resumed iterations. The checkpoint left by the killed
 * process must be complete and readable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { biggan, CLI, TEST_CACHE_DIR } from './cli-helpers.js';
import { readTrainingCheckpoint } from '../src/train/run/train-checkpoint.js';
import { readRunLog } from '../src/train/run/run-log.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-resume-'));
const STEPS = 10;
const ARGS = [
  'train', '--ch', '4', '--batch', '4', '--synthetic-classes', '4', '--synthetic-count', '64', '--dim-z', '16', '--shared-dim', '8',
  '--steps', String(STEPS), '--checkpoint-every', '2', '--sv-every', '2', '--sample-every', '4', '--standing-passes', '2',
  '--ema-start', '3', '--log-every', '1', '--seed', '5', '--threads', '1', '--graphs', 'single',
];

function trainLosses(dir: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const r of readRunLog(path.join(dir, 'log.jsonl'))) {
    if (r.type === 'train') out.set(r.step, [r.d_loss_real, r.d_loss_fake, r.g_loss, r.d_grad_norm, r.g_grad_norm] as number[]);
  }
  return out;
}

/** Starts training in a child and SIGKILLs it once the log shows an iteration past `afterStep`. */
function trainAndKill(dir: string, afterStep: number): Promise<{ signal: NodeJS.Signals | null; lastLogged: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...ARGS, '--out', dir], { env: { ...process.env, BIGGAN_CACHE_DIR: TEST_CACHE_DIR }, stdio: 'ignore' });
    let lastLogged = 0;
    const log = path.join(dir, 'log.jsonl');
    const poll = setInterval(() => {
      if (!fs.existsSync(log)) return;
      const steps = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"type":"train"')).map((l) => JSON.parse(l).step as number);
      lastLogged = Math.max(0, ...steps);
      if (lastLogged > afterStep) {
        clearInterval(poll);
        child.kill('SIGKILL');
      }
    }, 10);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve({ signal, lastLogged });
    });
    child.on('error', reject);
  });
}

test('train: N steps straight == N/2 + kill -9 + --resume, bit for bit', async () => {
  const a = path.join(tmp, 'straight');
  const b = path.join(tmp, 'killed');
  const r1 = biggan([...ARGS, '--out', a]);
  assert.equal(r1.status, 0, r1.stderr);

  const killed = await trainAndKill(b, STEPS / 2);
  assert.equal(killed.signal, 'SIGKILL', `the child should be killed mid-run (it got to step ${killed.lastLogged})`);
  // what the killed run left under the final name is a complete checkpoint
  const left = readTrainingCheckpoint(path.join(b, 'checkpoint.safetensors'));
  assert.ok(left.meta.step >= 2 && left.meta.step < STEPS && left.meta.step % 2 === 0, `checkpoint step ${left.meta.step}`);
  console.log(`killed after logging step ${killed.lastLogged}; resuming from the checkpoint at step ${left.meta.step}`);

  const r2 = biggan([...ARGS, '--out', b, '--resume']);
  assert.equal(r2.status, 0, r2.stderr);
  assert.match(r2.stderr, new RegExp(`resuming .* at step ${left.meta.step} of ${STEPS}`));

  const ca = readTrainingCheckpoint(path.join(a, 'checkpoint.safetensors'));
  const cb = readTrainingCheckpoint(path.join(b, 'checkpoint.safetensors'));
  assert.equal(ca.meta.step, STEPS);
  assert.equal(cb.meta.step, STEPS);
  assert.deepEqual([...cb.tensors.keys()].sort(), [...ca.tensors.keys()].sort());
  for (const [name, t] of ca.tensors) {
    const u = cb.tensors.get(name)!;
    assert.deepEqual(u.shape, t.shape, name);
    assert.ok(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), `${name} differs after resume`);
  }
  assert.ok([...ca.tensors.keys()].some((k) => k.startsWith('G_adam.')) && [...ca.tensors.keys()].some((k) => k.startsWith('G_ema_running.')));
  assert.deepEqual(cb.meta.loader, ca.meta.loader);
  assert.deepEqual(cb.meta.watch, ca.meta.watch);

  // the log of the resumed run: records past the checkpoint were dropped, the rest match the straight run
  const la = trainLosses(a);
  const lb = trainLosses(b);
  assert.deepEqual([...lb.keys()], [...la.keys()]);
  for (const [step, v] of la) assert.deepEqual(lb.get(step), v, `logged values at step ${step}`);
  console.log(`${ca.tensors.size} tensors identical after kill -9 at step ${killed.lastLogged} and resume from ${left.meta.step}`);
});
