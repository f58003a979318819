/**
 * Agreeing on rank 0's bytes: every rank starts from rank 0's state (parameters,
 * optimizer moments, RNG states, serialised), and launches whose ranks were given
 * different settings fail on every rank with one line naming the ranks that differ.
 */
import { UserError } from '../errors.js';
import type { CollectiveOptions, Communicator } from './communicator.js';

/** Rank 0's bytes on every rank (rank 0 passes them; the others pass nothing and learn the length). */
export async function broadcastFromRoot(comm: Communicator, bytes?: Uint8Array, options?: CollectiveOptions): Promise<Uint8Array> {
  if (comm.rank === 0 && !bytes) throw new Error('broadcastFromRoot: rank 0 must pass the bytes');
  const header = new Uint8Array(8);
  if (comm.rank === 0) new DataView(header.buffer).setFloat64(0, bytes!.length, true);
  await comm.broadcast(header, 0, options);
  const length = new DataView(header.buffer).getFloat64(0, true);
  const out = comm.rank === 0 ? bytes! : new Uint8Array(length);
  await comm.broadcast(out, 0, options);
  return out;
}

/** Throws the same one-line UserError on every rank when any rank's `bytes` differ from rank 0's. */
export async function checkSameOnAllRanks(comm: Communicator, what: string, bytes: Uint8Array): Promise<void> {
  if (comm.size === 1) return;
  const root = await broadcastFromRoot(comm, comm.rank === 0 ? bytes : undefined);
  const differs = new Float64Array(comm.size);
  differs[comm.rank] = equalBytes(root, bytes) ? 0 : 1;
  await comm.allreduceSum(differs);
  const ranks = [...differs.keys()].filter((r) => differs[r] !== 0);
  if (ranks.length > 0) {
    throw new UserError(`${what} differ between ranks: rank 0 vs ${ranks.map((r) => `rank ${r}`).join(', ')} (launch every rank with the same command)`);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
