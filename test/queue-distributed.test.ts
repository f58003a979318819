/**
 * Trials and evaluation on the job queue, end to end through the CLI: a real redis-server on
 * loopback, two `biggan worker`s, a tiny sweep (2 settings x 2 seeds, procedural Inception)
 * coordinated by `biggan sweep --queue`; one worker is killed (SIGKILL) mid-trial and the
 * other resumes that trial from its checkpoint, so every trial finishes. Then `biggan eval
 * --queue --shards 3` on one trial's checkpoint gives exactly the local evaluation's report
 * metrics (FID, IS, KID). Last, the remaining worker is stopped with SIGTERM mid-trial: the trial
 * checkpoints, goes back on the queue and finishes on a new worker; and a Bayesian sweep's second
 * round is proposed from the first round's queued results.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readSweepState, trialDir } from '../src/sweep/runner.js';
import { readResult } from '../src/sweep/run-trial.js';
import { proposeRound } from '../src/sweep/bayes/propose.js';
import { readSpec } from '../src/sweep/spec.js';
import { CLI, TEST_CACHE_DIR, biggan, isCleanError } from './cli-helpers.js';
import { type RedisServer, startRedis } from './redis-server.js';
import { TINY_TRIAL_OPTIONS, writeImages } from './tiny-sweep.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-queue-'));
// short lock / stall times so a killed worker's trial is taken back within seconds
const QUEUE_ENV = { BIGGAN_QUEUE_STALLED_MS: '1500', BIGGAN_QUEUE_BACKOFF_MS: '300', BIGGAN_CACHE_DIR: TEST_CACHE_DIR };

interface Running {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(args: string[]): Running {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...QUEUE_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let redis: RedisServer;
const workers: Running[] = [];

before(async () => {
  redis = await startRedis();
  for (let i = 0; i < 2; i++) workers.push(start(['worker', '--queue', redis.url]));
});

after(async () => {
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.signalCode === null) {
      w.child.kill('SIGTERM');
      await w.exited;
    }
  }
  await redis?.stop();
});

const specFile = path.join(tmp, 'spec.json');
const out = path.join(tmp, 'sweep');

test('sweep --queue: two workers, one killed mid-trial; its trial resumes on the other; every trial finishes', async () => {
  writeImages(path.join(tmp, 'real.npy'), 24, 32);
  fs.writeFileSync(specFile, JSON.stringify({
    fixed: TINY_TRIAL_OPTIONS,
    vary: { grid: { gLr: [1e-4, 5e-4] } },
    seeds: [0, 1],
    steps: 20,
    eval: { metrics: ['fid', 'kid'], n: 12, real: 'real.npy', inception: 'procedural', settings: { kidSubsetSize: 6, kidSubsets: 4 } },
  }));
  await until('both workers to connect', () => {
    for (const w of workers) if (w.child.exitCode !== null) throw new Error(`a worker exited: ${w.stderr()}`);
    return workers.every((w) => /worker: 1 job/.test(w.stderr()));
  }, 60_000);
  const sweep = start(['sweep', specFile, '--out', out, '--queue', redis.url]);
  // kill worker 0 once its trial has written a checkpoint (step 1 of 20)
  const [victim, survivor] = workers;
  let killedTrial = '';
  await until('worker 0 to checkpoint a trial', () => {
    const m = /trial ([\w-]+): running/.exec(victim.stderr());
    if (m && fs.existsSync(path.join(trialDir(out, m[1]), 'checkpoint.safetensors'))) killedTrial = m[1];
    return killedTrial !== '';
  }, 240_000);
  victim.child.kill('SIGKILL');
  await victim.exited;
  const code = await sweep.exited;
  assert.equal(code, 0, sweep.stderr());
  assert.match(sweep.stderr(), /4 of 4 trials finished/);
  const state = readSweepState(out);
  assert.deepEqual(state.trials.map((t) => t.status), ['finished', 'finished', 'finished', 'finished']);
  for (const t of state.trials) {
    const r = readResult(trialDir(out, t.id))!;
    assert.equal(r.step, 20);
    assert.ok(Number.isFinite(r.metrics.fid) && Number.isFinite(r.metrics.kid_mean), JSON.stringify(r.metrics));
    assert.deepEqual(t.result, r, 'sweep.json records what result.json holds');
  }
  // the killed worker's trial went on from its checkpoint on the other worker
  assert.match(survivor.stderr(), new RegExp(`trial ${killedTrial}: running`));
  const log = fs.readFileSync(path.join(trialDir(out, killedTrial), 'log.jsonl'), 'utf8');
  assert.match(log, /"type":"resume"/);

  // run again: everything is kept
  const again = biggan(['sweep', specFile, '--out', out, '--queue', redis.url], QUEUE_ENV);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /4 of 4 trials already finished/);
});

test('eval --queue --shards: the sharded evaluation equals the local one exactly', async () => {
  const state = readSweepState(out);
  const ckpt = path.join(trialDir(out, state.trials[0].id), 'checkpoint.safetensors');
  const common = ['eval', '--weights', ckpt, '--real', path.join(tmp, 'real.npy'), '--inception', 'procedural', '-n', '22', '--batch', '4', '--metrics', 'fid,is,kid', '--splits', '2', '--kid-subset-size', '6', '--kid-subsets', '4', '--seed', '3'];
  const local = biggan([...common, '--out', path.join(tmp, 'local.json')], QUEUE_ENV);
  assert.equal(local.status, 0, local.stderr);
  const shardDir = path.join(tmp, 'shards');
  const queued = biggan([...common, '--out', path.join(tmp, 'queued.json'), '--queue', redis.url, '--shards', '3', '--shard-dir', shardDir], QUEUE_ENV);
  assert.equal(queued.status, 0, queued.stderr);
  const metrics = (f: string): Record<string, number> => JSON.parse(fs.readFileSync(path.join(tmp, f), 'utf8')).metrics;
  assert.deepEqual(metrics('queued.json'), metrics('local.json'));
  assert.equal(queued.stdout, local.stdout);
  assert.deepEqual(fs.readdirSync(shardDir), [], 'the shard files are removed after the merge');

  // more shards than batches, and flags that do not go together: one line each
  for (const [args, re] of [
    [[...common, '--queue', redis.url, '--shards', '7'], /--shards 7 is more than the 6 generator batches/],
    [[...common, '--queue', redis.url], /--queue and --shards go together/],
    [[...common, '--queue', 'http://x:1', '--shards', '2'], /--queue http:\/\/x:1: unsupported scheme http/],
    [['worker', '--queue', 'redis://127.0.0.1'], /no port/],
  ] as const) {
    const r = biggan([...args], QUEUE_ENV);
    assert.ok(isCleanError(r), r.stderr);
    assert.match(r.stderr, re);
  }
});

test('worker stopped with SIGTERM mid-trial: the trial checkpoints and goes back on the queue without using an attempt', async () => {
  const spec = path.join(tmp, 'spec-stop.json');
  fs.writeFileSync(spec, JSON.stringify({ fixed: TINY_TRIAL_OPTIONS, vary: { grid: { gLr: [2e-4] } }, seeds: [0], steps: 30, eval: null }));
  const dir = path.join(tmp, 'sweep-stop');
  const sweep = start(['sweep', spec, '--out', dir, '--queue', redis.url]);
  const running = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  assert.equal(running.length, 1);
  const [stopped] = running;
  await until('a checkpoint of the trial', () => fs.existsSync(path.join(dir, 'trials')) && fs.readdirSync(path.join(dir, 'trials')).some((id) => fs.existsSync(path.join(dir, 'trials', id, 'checkpoint.safetensors'))), 240_000);
  stopped.child.kill('SIGTERM');
  assert.equal(await stopped.exited, 0, stopped.stderr());
  const next = start(['worker', '--queue', redis.url]);
  workers.push(next);
  assert.equal(await sweep.exited, 0, sweep.stderr());
  const [id] = fs.readdirSync(path.join(dir, 'trials'));
  assert.equal(readResult(trialDir(dir, id))!.step, 30);
  assert.match(next.stderr(), new RegExp(`trial ${id}: running \\(job [^,]+, attempt 1\\)`), 'the stop did not use up an attempt');
  assert.match(fs.readFileSync(path.join(trialDir(dir, id), 'log.jsonl'), 'utf8'), /"type":"resume"/);
});

test('sweep --queue with Bayesian rounds: round 2 is proposed from round 1\'s results, as the local runner does', async () => {
  const spec = path.join(tmp, 'spec-bayes.json');
  fs.writeFileSync(spec, JSON.stringify({
    fixed: TINY_TRIAL_OPTIONS,
    vary: { bayes: { rounds: 2, proposals: 1, seed: 3, candidates: 50, ranges: { lr: { min: 1e-5, max: 1e-3, scale: 'log', sets: ['gLr'] } } } },
    seeds: [0],
    steps: 2,
    eval: { metrics: ['fid'], n: 12, real: 'real.npy', inception: 'procedural' },
  }));
  const dir = path.join(tmp, 'sweep-bayes');
  const sweep = start(['sweep', spec, '--out', dir, '--queue', redis.url]);
  assert.equal(await sweep.exited, 0, sweep.stderr());
  const state = readSweepState(dir);
  assert.deepEqual(state.trials.map((t) => [t.round, t.status]), [[0, 'finished'], [1, 'finished']]);
  const parsed = readSpec(spec);
  assert.ok(parsed.vary.kind === 'bayes');
  if (parsed.vary.kind !== 'bayes') return;
  const first = state.trials[0];
  const expected = proposeRound(parsed.vary, 1, [{ setting: first.setting, fid: first.result!.metrics.fid }], parsed.fixed);
  assert.deepEqual(state.trials[1].setting, expected[0]);
});
