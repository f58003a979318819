/**
 * BIGGAN_MPI_STATS=PREFIX: every rank records each MPI call it makes (name, bytes, seconds
 * inside the library) and writes them to PREFIX.rank-R.json when it finalises, so a
 * benchmark can read the communication of a real run. A call's seconds include waiting for
 * the last rank to arrive: the rank that arrived last waited least, so the minimum over ranks
 * of one call is its transfer time.
 */
import fs from 'node:fs';
import { writeFileAtomic } from '../io/atomic-write.js';

export interface CollectiveCall {
  /** the MPI function: MPI_Allreduce, MPI_Bcast, MPI_Barrier */
  op: string;
  bytes: number;
  seconds: number;
}

export interface CollectiveStatsFile {
  rank: number;
  size: number;
  calls: CollectiveCall[];
}

export class CollectiveStats {
  private readonly calls: CollectiveCall[] = [];

  constructor(private readonly prefix: string) {}

  record(call: CollectiveCall): void {
    this.calls.push(call);
  }

  write(rank: number, size: number): void {
    const file: CollectiveStatsFile = { rank, size, calls: this.calls };
    writeFileAtomic(statsPath(this.prefix, rank), Buffer.from(JSON.stringify(file)));
  }
}

export function statsPath(prefix: string, rank: number): string {
  return `${prefix}.rank-${rank}.json`;
}

/** The recorder BIGGAN_MPI_STATS asks for, or none. */
export function collectiveStatsFromEnv(env: NodeJS.ProcessEnv): CollectiveStats | undefined {
  const prefix = env.BIGGAN_MPI_STATS;
  return prefix ? new CollectiveStats(prefix) : undefined;
}

export function readCollectiveStats(prefix: string, rank: number): CollectiveStatsFile {
  return JSON.parse(fs.readFileSync(statsPath(prefix, rank), 'utf8')) as CollectiveStatsFile;
}
