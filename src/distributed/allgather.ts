/**
 * Every rank's values in rank order, on every rank, through Allreduce SUM of a buffer
 * that is zero outside this rank's slot: exact (x + 0 = x), and cheap for the small
 * per-step values whose order must be one process's (each micro-batch's BatchNorm
 * statistics for the running averages, the losses for the log). Not for gradients:
 * it moves size × the bytes of one Allreduce.
 */
import type { Communicator, ReduceBuffer } from './communicator.js';

export async function allgather<T extends ReduceBuffer>(comm: Communicator, local: T): Promise<T> {
  const all = new (local.constructor as new (n: number) => T)(local.length * comm.size);
  all.set(local, comm.rank * local.length);
  await comm.allreduceSum(all);
  return all;
}
