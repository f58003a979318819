/**
 * What a new user meets in the first hour, through the CLI: `--version`, `--resume`
 * without a checkpoint, stale locks of killed runs, and a run folder that is either
 * a run or not there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { biggan, isCleanError } from './cli-helpers.js';
import { REPO_ROOT } from './fixture-paths.js';
import { RunDir } from '../src/train/run/run-dir.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-first-hour-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const TINY = ['--ch', '4', '--batch', '4', '--dim-z', '16', '--shared-dim', '8', '--threads', '1', '--synthetic-classes', '4', '--synthetic-count', '16', '--steps', '1', '--standing-passes', '1'];

test('biggan --version prints the package version', () => {
  const { version } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = biggan([flag]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  }
});

test('--resume without a checkpoint is an error, and leaves nothing behind', () => {
  const missing = path.join(tmp, 'never-trained');
  const r = biggan(['train', ...TINY, '--out', missing, '--resume']);
  assert.ok(isCleanError(r), r.stderr);
  assert.match(r.stderr, /--resume: .*does not exist/);
  assert.ok(!fs.existsSync(missing));

  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  const e = biggan(['train', ...TINY, '--out', empty, '--resume']);
  assert.ok(isCleanError(e), e.stderr);
  assert.match(e.stderr, /--resume: .* holds no checkpoint .*without --resume/);
  assert.deepEqual(fs.readdirSync(empty), []);
});

test('a stale lock (killed process, reused pid, damaged file) never blocks a restart; a live one does', async () => {
  // the pid of a process that has exited
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
  const locks = [
    `${deadPid}\n`,
    `${deadPid} 12345\n`,
    `${process.pid} 1\n`, // a live pid whose start time is not the lock holder's: the pid was reused
    '',
    'garbage',
  ];
  for (const [i, text] of locks.entries()) {
    const out = path.join(tmp, `stale-${i}`);
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, '.lock'), text);
    const r = biggan(['train', ...TINY, '--out', out]);
    assert.equal(r.status, 0, `lock ${JSON.stringify(text)}: ${r.stderr}`);
    assert.ok(fs.existsSync(path.join(out, 'checkpoint.safetensors')));
    assert.ok(!fs.existsSync(path.join(out, '.lock')), 'released at the end');
  }

  // held by a live process (this one)
  const held = path.join(tmp, 'held');
  const dir = new RunDir(held);
  dir.create();
  dir.lock();
  try {
    const r = biggan(['train', ...TINY, '--out', held]);
    assert.ok(isCleanError(r), r.stderr);
    assert.match(r.stderr, new RegExp(`in use by another biggan train \\(pid ${process.pid}\\)`));
  } finally {
    dir.unlock();
  }
  assert.ok(!fs.existsSync(dir.lockFile));
});

test('a lock held by a zombie (exited, not yet reaped) is stale', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  // `sleep 0 &` exits at once; its parent then becomes `sleep 5`, which never reaps it
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d)))));
    const state = () => {
      const stat = fs.readFileSync(`/proc/${zombie}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    };
    const deadline = Date.now() + 5000;
    while (state()[0] !== 'Z') {
      assert.ok(Date.now() < deadline, 'no zombie within 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const dir = new RunDir(path.join(tmp, 'zombie'));
    dir.create();
    // the zombie's own pid and start time, as its lock would hold them
    fs.writeFileSync(dir.lockFile, `${zombie} ${state()[19]}\n`);
    assert.equal(dir.holder(), null);
    dir.lock();
    assert.equal(dir.holder(), process.pid);
    dir.unlock();
  } finally {
    parent.kill('SIGKILL');
  }
});

test('RunDir.removeIfEmpty removes only the empty folders it created', () => {
  const parent = path.join(tmp, 'parent');
  const d = new RunDir(path.join(parent, 'run'));
  d.create();
  d.lock();
  d.removeIfEmpty();
  assert.ok(!fs.existsSync(parent), 'every folder it made is gone');

  const kept = path.join(tmp, 'mine');
  fs.mkdirSync(kept);
  const k = new RunDir(kept);
  k.create();
  fs.writeFileSync(path.join(k.samplesDir, 'note.txt'), 'x');
  k.removeIfEmpty();
  assert.deepEqual(fs.readdirSync(kept), ['samples'], 'the user folder stays, and so does anything written');
});
