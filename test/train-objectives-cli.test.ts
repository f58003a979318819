/**
 * `biggan train --loss / --penalty / --penalty-weight` as a user runs them: every loss and penalty
 * trains (finite losses; the penalty logged), a penalty of weight 0 leaves the run exactly as
 * without one (its extra D pass changes no state), a penalised run resumes bit for bit (its noise
 * has a stream of its own), and bad combinations are one-line errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { biggan, endsWithError } from './cli-helpers.js';
import { assertSameCheckpointTensors, straightAndResumed } from './checkpoint-compare.js';
import { readRunLog } from '../src/train/run/run-log.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-objectives-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const TINY = ['--standing-passes', '0', '--sv-every', '0', '--sample-every', '0', '--synthetic-count', '64'];


test('every loss with every penalty trains: finite losses, the penalty logged', () => {
  for (const [loss, penalty] of [['ns', 'wgan-gp'], ['wgan', 'dragan'], ['ls', 'l2'], ['minimax', 'none'], ['hinge', 'wgan-gp']]) {
    const out = path.join(tmp, `${loss}-${penalty}`);
    const r = biggan(['train', '--out', out, '--steps', '2', ...TINY, '--loss', loss, '--penalty', penalty]);
    assert.equal(r.status, 0, `${loss} ${penalty}: ${r.stderr}`);
    const train = readRunLog(path.join(out, 'log.jsonl')).filter((e) => e.type === 'train');
    assert.equal(train.length, 2);
    for (const e of train) {
      for (const k of ['d_loss_real', 'd_loss_fake', 'g_loss']) assert.ok(Number.isFinite(e[k] as number), `${loss} ${penalty}: ${k} ${e[k]}`);
      if (penalty === 'none') assert.equal(e.penalty, undefined);
      else assert.ok((e.penalty as number) > 0, `${loss} ${penalty}: penalty ${e.penalty}`);
    }
  }
});

test('a penalty of weight 0 leaves the run exactly as without one', () => {
  const a = path.join(tmp, 'no-penalty');
  const b = path.join(tmp, 'zero-weight');
  const common = ['train', '--steps', '2', ...TINY, '--loss', 'ns', '--seed', '3'];
  assert.equal(biggan([...common, '--out', a]).status, 0);
  assert.equal(biggan([...common, '--out', b, '--penalty', 'wgan-gp', '--penalty-weight', '0']).status, 0);
  assertSameCheckpointTensors(a, b);
});

test('a penalised run resumes bit for bit, and bad flags are one-line errors', () => {
  const args = ['train', ...TINY, '--checkpoint-every', '2', '--seed', '5', '--loss', 'wgan', '--penalty', 'dragan', '--penalty-weight', '5'];
  const { straight, resumed } = straightAndResumed(args, tmp);
  assertSameCheckpointTensors(straight, resumed);

  const weightAlone = biggan(['train', '--out', path.join(tmp, 'bad1'), '--steps', '1', '--penalty-weight', '3']);
  assert.ok(endsWithError(weightAlone), weightAlone.stderr);
  assert.match(weightAlone.stderr, /--penalty-weight needs --penalty/);
  const negative = biggan(['train', '--out', path.join(tmp, 'bad2'), '--steps', '1', '--penalty', 'l2', '--penalty-weight', '-1']);
  assert.ok(endsWithError(negative), negative.stderr);
  const unknown = biggan(['train', '--out', path.join(tmp, 'bad3'), '--loss', 'wasserstein']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /Allowed choices are hinge, ns, minimax, wgan, ls/);
});
