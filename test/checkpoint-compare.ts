/** Bit-for-bit comparison of two runs' training checkpoints (every tensor: weights, buffers, Adam moments). */
import assert from 'node:assert/strict';
import path from 'node:path';
import { readTrainingCheckpoint } from '../src/train/run/train-checkpoint.js';
import { biggan } from './cli-helpers.js';

export function assertSameCheckpointTensors(runA: string, runB: string, what = 'after resume'): ReturnType<typeof readTrainingCheckpoint> {
  const ca = readTrainingCheckpoint(path.join(runA, 'checkpoint.safetensors'));
  const cb = readTrainingCheckpoint(path.join(runB, 'checkpoint.safetensors'));
  assert.deepEqual([...cb.tensors.keys()].sort(), [...ca.tensors.keys()].sort());
  for (const [name, t] of ca.tensors) {
    const u = cb.tensors.get(name)!;
    assert.ok(Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), `${name} differs ${what}`);
  }
  return cb;
}

/**
 * `biggan train ARGS` for 4 steps straight into tmp/straight, and for 2 then `--resume` to 4 into
 * tmp/resumed; returns both folders and the resume's stderr.
 */
export function straightAndResumed(args: string[], tmp: string): { straight: string; resumed: string; stderr: string } {
  const straight = path.join(tmp, 'straight');
  const resumed = path.join(tmp, 'resumed');
  assert.equal(biggan([...args, '--steps', '4', '--out', straight]).status, 0);
  assert.equal(biggan([...args, '--steps', '2', '--out', resumed]).status, 0);
  const r = biggan(['train', '--out', resumed, '--resume', '--steps', '4']);
  assert.equal(r.status, 0, r.stderr);
  return { straight, resumed, stderr: r.stderr };
}
