/**
 * Whether this process was started by an MPI launcher, read from the environment the
 * launcher sets (before any library is loaded, so a plain `biggan train` never needs MPI):
 * MPICH's Hydra and Slurm's PMI/PMI2 set PMI_RANK / PMI_SIZE, Open MPI's mpirun
 * OMPI_COMM_WORLD_RANK / _SIZE, and `srun` SLURM_PROCID / SLURM_STEP_NUM_TASKS inside a
 * job step. Hydra's `-pmi-port` mode (a TCP address in PMI_PORT instead of an inherited
 * socket, which survives wrappers such as npx) sets only PMI_ID: the size is the library's
 * to tell once it is loaded.
 */
import { UserError } from '../errors.js';

export type Launcher = 'pmi' | 'open-mpi' | 'slurm';

export interface Launch {
  launcher: Launcher;
  rank: number;
  /** null: not in the environment (Hydra's -pmi-port), known after MPI_Init */
  size: number | null;
}

const SOURCES: { launcher: Launcher; rank: string; size: string | null; when?: string }[] = [
  { launcher: 'pmi', rank: 'PMI_RANK', size: 'PMI_SIZE' },
  { launcher: 'pmi', rank: 'PMI_ID', size: null, when: 'PMI_PORT' },
  { launcher: 'open-mpi', rank: 'OMPI_COMM_WORLD_RANK', size: 'OMPI_COMM_WORLD_SIZE' },
  // sbatch's own script also sees SLURM_PROCID; only a job step (srun) has SLURM_STEP_ID
  { launcher: 'slurm', rank: 'SLURM_PROCID', size: 'SLURM_STEP_NUM_TASKS', when: 'SLURM_STEP_ID' },
];

/** The launch this process is part of, or null for a plain process. */
export function detectLaunch(env: NodeJS.ProcessEnv = process.env): Launch | null {
  for (const s of SOURCES) {
    if (s.when !== undefined && env[s.when] === undefined) continue;
    const rank = env[s.rank];
    if (s.size === null) {
      if (rank === undefined) continue;
      return { launcher: s.launcher, rank: count(s.rank, rank, 0), size: null };
    }
    const size = env[s.size];
    if (rank === undefined && size === undefined) continue;
    const r = count(s.rank, rank, 0);
    const n = count(s.size, size, 1);
    if (r >= n) throw new UserError(`${s.rank}=${rank} is not below ${s.size}=${size}: a broken launch environment`);
    return { launcher: s.launcher, rank: r, size: n };
  }
  return null;
}

function count(name: string, value: string | undefined, min: number): number {
  if (value === undefined || !/^\d{1,9}$/.test(value) || Number(value) < min) {
    throw new UserError(`${name}=${value ?? '(unset)'} is not a count: a broken launch environment`);
  }
  return Number(value);
}
