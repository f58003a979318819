/**
 * The MPI layer under a real `mpiexec -n 2`, MPICH's Hydra and Open MPI's mpirun (CI installs
 * Debian's mpich and openmpi-bin; test/mpi/launchers.ts picks each by name): collectives, a
 * killed rank, a rank that stops answering, and launches that cannot work. The ranks run
 * test/mpi/harness.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCollectiveStats } from '../src/distributed/collective-stats.js';
import { REPO_ROOT } from './fixture-paths.js';
import { MPICH, OPEN_MPI, missing, mpiexecArgs, type MpiLauncher } from './mpi/launchers.js';

const HARNESS = path.join(REPO_ROOT, 'dist', 'test', 'mpi', 'harness.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function mpiexec(ranks: number, scenario: string, env: Record<string, string> = {}, timeoutMs = 60_000, launcher: MpiLauncher = MPICH): Run {
  const t = performance.now();
  const [cmd, args] = mpiexecArgs(launcher, ranks, [process.execPath, HARNESS, '--run', scenario]);
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...launcher.env, ...env }, timeout: timeoutMs });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') assert.fail(missing(launcher));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t) / 1000 };
}

function node(scenario: string, env: Record<string, string>): Run {
  const t = performance.now();
  const r = spawnSync(process.execPath, [HARNESS, '--run', scenario], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t) / 1000 };
}

function rankLines(r: Run): Record<string, unknown>[] {
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return lines.sort((a, b) => (a.rank as number) - (b.rank as number));
}

function collectives(launcher: MpiLauncher): void {
  const ranks = rankLines(mpiexec(2, 'collectives', {}, 60_000, launcher));
  assert.deepEqual(ranks.map((r) => [r.rank, r.size]), [[0, 2], [1, 2]]);
  for (const r of ranks) {
    assert.match(r.description as string, launcher.library);
    assert.equal(r.f32Bad, 0, 'float32 sums differ from the sum of both ranks');
    assert.equal(r.f64Bad, 0, 'float64 sums differ from the sum of both ranks');
    assert.equal(r.f32Same, true);
    assert.equal(r.f64Same, true);
    assert.equal(r.bcastOk, true);
    assert.equal(r.allgatherOk, true, 'allgather: every rank\'s values in rank order, exactly');
    // rank 0 enters the barrier 300 ms late: nobody leaves before it arrives
    assert.ok((r.barrierWaitMs as number) >= 250, `barrier returned after ${r.barrierWaitMs} ms`);
    assert.equal(r.mismatch, 'the training settings differ between ranks: rank 0 vs rank 1 (launch every rank with the same command)');
  }
}

test('allreduce (float32, float64, chunked), allgather, broadcast, barrier and the settings check on 2 ranks', () => collectives(MPICH));

test('Open MPI: the same collectives through libmpi.so.40 (handles are addresses of its globals)', { skip: OPEN_MPI.skip }, () => collectives(OPEN_MPI));

test('cross-replica BatchNorm over 2 ranks: statistics and gradients of the whole batch (SegmentedGraph + Allreduce)', () => {
  const ranks = rankLines(mpiexec(2, 'cross-replica-bn'));
  assert.equal(ranks.length, 2);
  for (const r of ranks) {
    assert.equal(r.sessions, 5);
    for (const k of ['y', 'dx', 'dgamma', 'dbeta', 'loss']) assert.ok((r[k] as number) < 1e-5, `rank ${r.rank} ${k}: ${r[k]}`);
  }
});

for (const launcher of [MPICH, OPEN_MPI]) {
  const skip = launcher.skip;
  const name = launcher === OPEN_MPI ? 'Open MPI: ' : '';
  test(`${name}a rank killed with SIGKILL mid-loop ends the whole job, non-zero, within seconds`, { skip }, () => {
    const r = mpiexec(2, 'killed-rank', {}, 60_000, launcher);
    assert.notEqual(r.status, 0);
    assert.notEqual(r.status, null, 'the job hung (killed by the test timeout)');
    assert.ok(r.seconds < 20, `took ${r.seconds} s`);
    assert.match(r.stdout + r.stderr, launcher.killed);
  });

  test(`${name}a rank that stops answering: the others abort the job after BIGGAN_MPI_TIMEOUT with one line`, { skip }, () => {
    const r = mpiexec(2, 'silent-rank', { BIGGAN_MPI_TIMEOUT: '2' }, 60_000, launcher);
    assert.notEqual(r.status, 0);
    assert.notEqual(r.status, null, 'the job hung (killed by the test timeout)');
    assert.ok(r.seconds < 30, `took ${r.seconds} s`);
    assert.match(r.stderr, /^biggan: error: rank 0 of 2: MPI_Allreduce did not complete within 2 s \(BIGGAN_MPI_TIMEOUT\): a rank stopped answering; aborting the job$/m);
  });
}

test('no MPI library: one line per rank naming what was tried and the package', () => {
  const r = mpiexec(2, 'open', { BIGGAN_LIBMPI: '/nonexistent/libmpi.so.12' });
  assert.notEqual(r.status, 0);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('biggan: error: '));
  assert.equal(lines.length, 2, r.stderr);
  for (const l of lines) assert.match(l, /^biggan: error: BIGGAN_LIBMPI=\/nonexistent\/libmpi\.so\.12: tried \/nonexistent\/libmpi\.so\.12 \(.+\); install MPICH \(Debian\/Ubuntu: apt-get install mpich\)/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('a launcher whose ranks the library does not see (srun without a PMI MPICH knows): one line', () => {
  const r = node('open', { SLURM_PROCID: '0', SLURM_STEP_NUM_TASKS: '2', SLURM_STEP_ID: '0' });
  assert.equal(r.status, 1);
  assert.match(r.stderr.trim(), /^biggan: error: the launcher started rank 0 of 2 but libmpi(ch)?\.so\.12 \(MPICH.*\) sees rank 0 of 1: the library does not belong to this mpiexec/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test("Open MPI's mpirun over MPICH's library (BIGGAN_LIBMPI): one line, before MPI_Init", () => {
  const r = node('open', { OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '2', BIGGAN_LIBMPI: 'libmpich.so.12' });
  assert.equal(r.status, 1);
  assert.match(r.stderr.trim(), /^biggan: error: started by Open MPI's mpirun \(OMPI_COMM_WORLD_SIZE=2\), but libmpich\.so\.12 \(MPICH.*\) is MPICH: launch with MPICH's mpiexec, or set BIGGAN_LIBMPI to Open MPI's libmpi\.so\.40$/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

/** the `biggan: error:` lines of a run: one per rank, nothing else that looks like a stack */
function errorLines(r: Run, ranks: number): string[] {
  assert.notEqual(r.status, 0);
  assert.notEqual(r.status, null, 'the job hung (killed by the test timeout)');
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('biggan: error: '));
  assert.equal(lines.length, ranks, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  return lines;
}

test('the wrong library for the launcher, under a real launch of each: one line per rank, before MPI_Init', { skip: OPEN_MPI.skip }, () => {
  // Hydra's ranks (PMI) with Open MPI's library
  for (const l of errorLines(mpiexec(2, 'open', { BIGGAN_LIBMPI: 'libmpi.so.40' }), 2)) {
    assert.match(l, /^biggan: error: started by a PMI launcher such as MPICH's mpiexec \(PMI_SIZE=2\), but libmpi\.so\.40 \(Open MPI v[\d.]+.*\) is Open MPI: launch with Open MPI's mpiexec, or set BIGGAN_LIBMPI to an MPICH-ABI libmpi$/);
  }
  // Open MPI's ranks with MPICH's library
  for (const l of errorLines(mpiexec(2, 'open', { BIGGAN_LIBMPI: 'libmpich.so.12' }, 60_000, OPEN_MPI), 2)) {
    assert.match(l, /^biggan: error: started by Open MPI's mpirun \(OMPI_COMM_WORLD_SIZE=2\), but libmpich\.so\.12 \(MPICH.*\) is MPICH: launch with MPICH's mpiexec, or set BIGGAN_LIBMPI to Open MPI's libmpi\.so\.40$/);
  }
  // Open MPI's ranks and no library: the Open MPI package named
  for (const l of errorLines(mpiexec(2, 'open', { BIGGAN_LIBMPI: '/nonexistent/libmpi.so.40' }, 60_000, OPEN_MPI), 2)) {
    assert.match(l, /^biggan: error: BIGGAN_LIBMPI=\/nonexistent\/libmpi\.so\.40: tried \/nonexistent\/libmpi\.so\.40 \(.+\); install Open MPI \(Debian\/Ubuntu: apt-get install openmpi-bin\) or set BIGGAN_LIBMPI to Open MPI's libmpi\.so\.40, or launch with the mpiexec of the MPI that is installed$/);
  }
});

/** the file the dynamic loader opens for a soname (ldconfig's cache), or null */
function loadedFile(soname: string): string | null {
  const r = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  const line = (r.stdout ?? '').split('\n').find((l) => l.trim().startsWith(`${soname} `));
  return line ? fs.realpathSync(line.split(' => ')[1].trim()) : null;
}

test("a launcher whose MPI's library is missing (only the other MPI installed): one line per rank naming both ways out", { skip: OPEN_MPI.skip }, (t) => {
  // hides one library from the ranks only: /dev/null over it in a private mount namespace
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return t.skip('needs unshare -m (root) to hide a library from the ranks');
  const cases = [
    { launcher: OPEN_MPI, hidden: 'libmpi.so.40', line: /^biggan: error: started by Open MPI's mpirun \(OMPI_COMM_WORLD_SIZE=2\), but no Open MPI library found: tried libmpi\.so\.40 \(.+\); install Open MPI \(Debian\/Ubuntu: apt-get install openmpi-bin\) or set BIGGAN_LIBMPI to Open MPI's libmpi\.so\.40, or launch with the mpiexec of the MPI that is installed$/ },
    { launcher: MPICH, hidden: 'libmpich.so.12', line: /^biggan: error: started by a PMI launcher such as MPICH's mpiexec \(PMI_SIZE=2\), but no MPICH-ABI library found: tried libmpi\.so\.12 \(.+\), libmpich\.so\.12 \(.+\); install MPICH \(Debian\/Ubuntu: apt-get install mpich\) or set BIGGAN_LIBMPI to an MPICH-ABI libmpi, or launch with the mpiexec of the MPI that is installed$/ },
  ];
  for (const c of cases) {
    const file = loadedFile(c.hidden);
    assert.ok(file, `${c.hidden} is not in ldconfig's cache`);
    const [cmd, args] = mpiexecArgs(c.launcher, 2, [process.execPath, HARNESS, '--run', 'open']);
    const t0 = performance.now();
    const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind /dev/null "$0" && exec "$@"', file, cmd, ...args], {
      encoding: 'utf8', env: { ...process.env, ...c.launcher.env }, timeout: 60_000,
    });
    const run: Run = { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
    for (const l of errorLines(run, 2)) assert.match(l, c.line);
  }
});

test('with both installed, each launcher gets its own library', { skip: OPEN_MPI.skip }, () => {
  for (const launcher of [MPICH, OPEN_MPI]) {
    for (const r of rankLines(mpiexec(2, 'open', {}, 60_000, launcher))) assert.match(r.description as string, launcher.library);
  }
});

test('a plain process (no launcher) is a single rank and loads no MPI library', () => {
  const r = node('open', { BIGGAN_LIBMPI: '/nonexistent/libmpi.so.12' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { rank: 0, size: 1, description: 'single process' });
});

test('BIGGAN_MPI_STATS: every rank writes its calls (name, bytes, seconds) when it finalises', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-mpi-stats-'));
  try {
    const prefix = path.join(dir, 'stats');
    rankLines(mpiexec(2, 'recorded', { BIGGAN_MPI_STATS: prefix }));
    for (const rank of [0, 1]) {
      const s = readCollectiveStats(prefix, rank);
      assert.deepEqual([s.rank, s.size], [rank, 2]);
      assert.deepEqual(s.calls.map((c) => [c.op, c.bytes]), [['MPI_Allreduce', 4000], ['MPI_Bcast', 10], ['MPI_Barrier', 0]]);
      for (const c of s.calls) assert.ok(c.seconds >= 0 && c.seconds < 60, `${c.op} took ${c.seconds} s`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
