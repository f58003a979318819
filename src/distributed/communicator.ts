/**
 * What the trainer asks of the other ranks, whether there are any: an MPI job
 * (mpi-communicator.ts) or a plain process (SoloCommunicator below, where every
 * collective is the identity), so training code has one path.
 */
export type ReduceBuffer = Float32Array | Float64Array;

export interface CollectiveOptions {
  /** seconds before a collective that has not completed aborts the job; 0: wait forever */
  timeoutS?: number;
}

export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** one line for logs: the library and launcher, or "single process" */
  readonly description: string;
  /** buf becomes the elementwise sum of every rank's buf (in place; do not touch buf until it resolves) */
  allreduceSum(buf: ReduceBuffer, options?: CollectiveOptions): Promise<void>;
  /** every rank's buf becomes root's (same length on every rank; in place) */
  broadcast(buf: Uint8Array, root?: number, options?: CollectiveOptions): Promise<void>;
  barrier(options?: CollectiveOptions): Promise<void>;
  /** stops every rank of the job now, after printing `message` on this rank's stderr */
  abort(message: string, exitCode?: number): never;
  /** MPI_Finalize (after the last collective) */
  close(): void;
}

export class SoloCommunicator implements Communicator {
  readonly rank = 0;
  readonly size = 1;
  readonly description = 'single process';
  async allreduceSum(): Promise<void> {}
  async broadcast(): Promise<void> {}
  async barrier(): Promise<void> {}
  abort(message: string, exitCode = 1): never {
    process.stderr.write(`${message}\n`);
    process.exit(exitCode);
  }
  close(): void {}
}
