/**
 * The communicator for this process: MPI when a launcher started more than one rank,
 * otherwise a plain single process that never loads an MPI library.
 */
import { UserError } from '../errors.js';
import { collectiveStatsFromEnv } from './collective-stats.js';
import { SoloCommunicator, type Communicator } from './communicator.js';
import { detectLaunch } from './launch.js';
import { DEFAULT_TIMEOUT_S, MpiCommunicator } from './mpi-communicator.js';

export function openCommunicator(env: NodeJS.ProcessEnv = process.env): Communicator {
  const launch = detectLaunch(env);
  if (!launch || launch.size === 1) return new SoloCommunicator();
  return MpiCommunicator.open(launch, { timeoutS: collectiveTimeout(env), stats: collectiveStatsFromEnv(env) }, env);
}

/** BIGGAN_MPI_TIMEOUT: seconds a collective may wait for the other ranks (0: forever). */
export function collectiveTimeout(env: NodeJS.ProcessEnv): number {
  const raw = env.BIGGAN_MPI_TIMEOUT;
  if (raw === undefined || raw.trim() === '') return DEFAULT_TIMEOUT_S;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 0) throw new UserError(`BIGGAN_MPI_TIMEOUT=${raw} is not a number of seconds (0 waits forever)`);
  return s;
}
