/** Bit-for-bit comparison of two runs' training checkpoints (every tensor: weights, buffers, Adam moments). */
import assert from 'node:assert/strict';
import path from 'node:path';
import { readTrainingCheckpoint } from '../src/train/run/train-checkpoint.js';

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
