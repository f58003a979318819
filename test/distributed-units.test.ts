/** The distributed layer's pure parts: launch detection, batch splitting, settings from the environment. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectLaunch } from '../src/distributed/launch.js';
import { perRankBatch, rankSlice } from '../src/distributed/batch-split.js';
import { collectiveTimeout } from '../src/distributed/open-communicator.js';
import { DEFAULT_TIMEOUT_S } from '../src/distributed/mpi-communicator.js';
import { abisFor, loadMpiLibrary } from '../src/distributed/mpi-library.js';
import { assertUserError } from './assert-user-error.js';

test('launch detection: Hydra/PMI, Open MPI, Slurm job steps, plain processes', () => {
  assert.equal(detectLaunch({}), null);
  assert.deepEqual(detectLaunch({ PMI_RANK: '1', PMI_SIZE: '4', PMI_FD: '6' }), { launcher: 'pmi', rank: 1, size: 4 });
  assert.deepEqual(detectLaunch({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '2' }), { launcher: 'open-mpi', rank: 0, size: 2 });
  assert.deepEqual(detectLaunch({ SLURM_PROCID: '3', SLURM_STEP_NUM_TASKS: '8', SLURM_STEP_ID: '0' }), { launcher: 'slurm', rank: 3, size: 8 });
  // sbatch's script itself is no rank
  assert.equal(detectLaunch({ SLURM_PROCID: '0', SLURM_NTASKS: '8' }), null);
  assertUserError(() => detectLaunch({ PMI_RANK: '2', PMI_SIZE: '2' }), /^PMI_RANK=2 is not below PMI_SIZE=2/);
  assertUserError(() => detectLaunch({ PMI_RANK: '0' }), /^PMI_SIZE=\(unset\) is not a count/);
  assertUserError(() => detectLaunch({ PMI_RANK: 'x', PMI_SIZE: '2' }), /^PMI_RANK=x is not a count/);
  assertUserError(() => detectLaunch({ PMI_RANK: '0', PMI_SIZE: '0' }), /^PMI_SIZE=0 is not a count/);
});

test('the library a launch loads: Open MPI for its mpirun, the MPICH ABI for PMI, either for srun (PMIx: Open MPI first)', () => {
  assert.deepEqual(abisFor(detectLaunch({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '2', PMIX_RANK: '0' })), ['open-mpi']);
  assert.deepEqual(abisFor(detectLaunch({ PMI_RANK: '1', PMI_SIZE: '4', PMI_FD: '6' })), ['mpich']);
  assert.deepEqual(abisFor(detectLaunch({ PMI_PORT: 'host:4000', PMI_ID: '1' })), ['mpich']);
  const step = { SLURM_PROCID: '3', SLURM_STEP_NUM_TASKS: '8', SLURM_STEP_ID: '0' };
  assert.deepEqual(abisFor(detectLaunch(step), step), ['mpich', 'open-mpi']);
  const pmix = { ...step, PMIX_RANK: '3' };
  assert.deepEqual(abisFor(detectLaunch(pmix), pmix), ['open-mpi', 'mpich']);
});

test('a batch splits over ranks into contiguous slices, or fails in one line', () => {
  assert.equal(perRankBatch(64, 4), 16);
  assert.deepEqual(rankSlice(64, 4, 2), [32, 48]);
  assert.deepEqual(rankSlice(5, 1, 0), [0, 5]);
  assertUserError(() => perRankBatch(50, 4), /^batch 50 does not split over 4 ranks \(50 = 12 × 4 \+ 2\): use a multiple of 4$/);
  assertUserError(() => perRankBatch(0, 2), /^batch 0 is not a positive integer$/);
});

test('BIGGAN_MPI_TIMEOUT', () => {
  assert.equal(collectiveTimeout({}), DEFAULT_TIMEOUT_S);
  assert.equal(collectiveTimeout({ BIGGAN_MPI_TIMEOUT: '2.5' }), 2.5);
  assert.equal(collectiveTimeout({ BIGGAN_MPI_TIMEOUT: '0' }), 0);
  assertUserError(() => collectiveTimeout({ BIGGAN_MPI_TIMEOUT: '-1' }), /^BIGGAN_MPI_TIMEOUT=-1 is not a number of seconds/);
  assertUserError(() => collectiveTimeout({ BIGGAN_MPI_TIMEOUT: 'soon' }), /^BIGGAN_MPI_TIMEOUT=soon is not a number of seconds/);
});

test('BIGGAN_LIBMPI naming a missing library: one line with what was tried and the package', () => {
  assertUserError(() => loadMpiLibrary({ BIGGAN_LIBMPI: '/nonexistent/libmpi.so.12' }), /^BIGGAN_LIBMPI=\/nonexistent\/libmpi\.so\.12: tried \/nonexistent\/libmpi\.so\.12 \(.+\); install MPICH \(Debian\/Ubuntu: apt-get install mpich\)/);
});
