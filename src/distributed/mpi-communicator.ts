/**
 * MPI_COMM_WORLD through the bound library (mpi-library.ts). Collectives run on koffi's
 * worker threads (MPI_THREAD_MULTIPLE), so the JS thread stays free while a rank waits:
 * a timer then turns a collective that never completes (a rank hung, or gone in a way the
 * launcher missed) into MPI_Abort with a message, after BIGGAN_MPI_TIMEOUT seconds. Errors
 * come back as codes (MPI_ERRORS_RETURN) and become one-line RankFailures. A rank killed
 * outright is the launcher's to handle: Hydra's mpiexec kills the others at once
 * (measured: exit within 0.1 s, "BAD TERMINATION ... Killed (signal 9)"), and so does Open
 * MPI's mpirun ("... exited on signal 9 (Killed)"). The handles come with the library
 * (MPICH's ints or Open MPI's addresses: mpi-library.ts).
 */
import fs from 'node:fs';
import { UserError } from '../errors.js';
import type { CollectiveStats } from './collective-stats.js';
import type { CollectiveOptions, Communicator, ReduceBuffer } from './communicator.js';
import type { Launch } from './launch.js';
import { loadMpiLibrary, type MpiLibrary } from './mpi-library.js';
import { ensurePmiConnection } from './pmi-connection.js';
import { MPI_SUCCESS } from './mpich-abi.js';

/** A collective failed on this rank (a peer died, the network went away): one line, not a bug. */
export class RankFailure extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'RankFailure';
  }
}

export const DEFAULT_TIMEOUT_S = 600;
const ABORT_FLUSH_MS = 300;
/** elements per MPI call: MPI counts are C ints; 2^28 keeps a float64 chunk at 2 GiB */
const MAX_COUNT = 2 ** 28;

export interface MpiOptions {
  /** default collective timeout in seconds (0: none) */
  timeoutS: number;
  /** largest element count per MPI call (tests lower it to exercise chunking) */
  maxCount?: number;
  /** records every call (BIGGAN_MPI_STATS), written when the communicator closes */
  stats?: CollectiveStats;
}

export class MpiCommunicator implements Communicator {
  readonly rank: number;
  readonly size: number;
  readonly description: string;
  private readonly timeoutS: number;
  private readonly maxCount: number;
  private readonly stats: CollectiveStats | undefined;
  /** collectives must reach MPI in the same order on every rank: one at a time, in call order */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** after a failed collective the ranks no longer agree on what comes next: later calls fail with it */
  private failure: Error | undefined;

  private constructor(private readonly mpi: MpiLibrary, launch: Launch, options: MpiOptions) {
    this.timeoutS = options.timeoutS;
    this.maxCount = options.maxCount ?? MAX_COUNT;
    this.stats = options.stats;
    const rank = [0];
    const size = [0];
    this.check(mpi.Comm_rank(mpi.handles.COMM_WORLD, rank), 'MPI_Comm_rank');
    this.check(mpi.Comm_size(mpi.handles.COMM_WORLD, size), 'MPI_Comm_size');
    this.rank = rank[0];
    this.size = size[0];
    if ((launch.size !== null && this.size !== launch.size) || this.rank !== launch.rank) {
      throw new UserError(`the launcher started rank ${launch.rank} of ${launch.size ?? '?'} but ${mpi.description} sees rank ${this.rank} of ${this.size}: the library does not belong to this mpiexec (use the mpiexec of the same MPI, or set BIGGAN_LIBMPI)`);
    }
    this.description = `rank ${this.rank} of ${this.size}, ${mpi.description}`;
  }

  /** MPI_Init_thread for a launched process; a one-line UserError for a library that cannot serve. */
  static open(launch: Launch, options: MpiOptions, env: NodeJS.ProcessEnv = process.env): MpiCommunicator {
    // the library that can join this launcher, or one line before MPI_Init
    const mpi = loadMpiLibrary(env, launch);
    ensurePmiConnection(env);
    const flag = [0];
    mpi.Initialized(flag);
    if (flag[0] === 0) {
      const provided = [0];
      const code = mpi.Init_thread(null, null, mpi.threadMultiple, provided);
      if (code !== MPI_SUCCESS) throw new UserError(`MPI_Init_thread failed (code ${code}) in ${mpi.description}`);
      if (provided[0] < mpi.threadMultiple) {
        throw new UserError(`${mpi.description} provides thread level ${provided[0]}, not MPI_THREAD_MULTIPLE (${mpi.threadMultiple}), which the collective watchdog needs`);
      }
    }
    const code = mpi.Comm_set_errhandler(mpi.handles.COMM_WORLD, mpi.handles.ERRORS_RETURN);
    if (code !== MPI_SUCCESS) throw new UserError(`MPI_Comm_set_errhandler failed (code ${code}) in ${mpi.description}`);
    return new MpiCommunicator(mpi, launch, options);
  }

  allreduceSum(buf: ReduceBuffer, options?: CollectiveOptions): Promise<void> {
    const h = this.mpi.handles;
    const type = buf instanceof Float32Array ? h.FLOAT : h.DOUBLE;
    return this.chunked('MPI_Allreduce', buf, options, (chunk, done) => this.mpi.Allreduce.async(h.IN_PLACE, chunk, chunk.length, type, h.SUM, h.COMM_WORLD, done));
  }

  broadcast(buf: Uint8Array, root = 0, options?: CollectiveOptions): Promise<void> {
    if (!Number.isInteger(root) || root < 0 || root >= this.size) throw new RangeError(`broadcast root ${root} is not a rank of ${this.size}`);
    return this.chunked('MPI_Bcast', buf, options, (chunk, done) => this.mpi.Bcast.async(chunk, chunk.length, this.mpi.handles.BYTE, root, this.mpi.handles.COMM_WORLD, done));
  }

  barrier(options?: CollectiveOptions): Promise<void> {
    return this.enqueue('MPI_Barrier', 0, options, (done) => this.mpi.Barrier.async(this.mpi.handles.COMM_WORLD, done));
  }

  abort(message: string, exitCode = 1): never {
    fs.writeSync(2, `${message}\n`);
    // Hydra forwards a rank's stderr through its proxy, and the abort's kill can overtake the
    // line (measured: 1 of 3 aborts lost it): a moment for it to pass first
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ABORT_FLUSH_MS);
    this.mpi.Abort(this.mpi.handles.COMM_WORLD, exitCode);
    // MPI_Abort does not return; should a library return anyway, nothing may go on
    process.exit(exitCode);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stats?.write(this.rank, this.size);
    this.check(this.mpi.Finalize(), 'MPI_Finalize');
  }

  private chunked<T extends ReduceBuffer | Uint8Array>(name: string, buf: T, options: CollectiveOptions | undefined, call: (chunk: T, done: (err: unknown, code: number) => void) => void): Promise<void> {
    const parts: Promise<void>[] = [];
    // every rank cuts the same chunks (equal lengths are the caller's contract, as in MPI)
    for (let at = 0; at < buf.length; at += this.maxCount) {
      const chunk = buf.subarray(at, Math.min(buf.length, at + this.maxCount)) as T;
      parts.push(this.enqueue(name, chunk.byteLength, options, (done) => call(chunk, done)));
    }
    return Promise.all(parts).then(() => undefined);
  }

  private enqueue(name: string, bytes: number, options: CollectiveOptions | undefined, start: (done: (err: unknown, code: number) => void) => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${name} after MPI_Finalize`));
    if (this.failure) return Promise.reject(this.failure);
    const timeoutS = options?.timeoutS ?? this.timeoutS;
    const run = () => new Promise<void>((resolve, reject) => {
      const timer = timeoutS > 0
        ? setTimeout(() => this.abort(`biggan: error: rank ${this.rank} of ${this.size}: ${name} did not complete within ${timeoutS} s (BIGGAN_MPI_TIMEOUT): a rank stopped answering; aborting the job`, 3), timeoutS * 1000)
        : undefined;
      const t0 = performance.now();
      start((err, code) => {
        if (timer) clearTimeout(timer);
        this.stats?.record({ op: name, bytes, seconds: (performance.now() - t0) / 1000 });
        if (!err && code === MPI_SUCCESS) return resolve();
        this.failure ??= err instanceof Error ? err : new RankFailure(`rank ${this.rank} of ${this.size}: ${name} failed: ${this.errorString(code)}`);
        reject(this.failure);
      });
    });
    const result = this.queue.then(() => (this.failure ? Promise.reject(this.failure) : run()));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private check(code: number, name: string): void {
    if (code !== MPI_SUCCESS) throw new RankFailure(`rank ${this.rank ?? '?'}: ${name} failed: ${this.errorString(code)}`);
  }

  private errorString(code: number): string {
    const text = Buffer.alloc(this.mpi.maxErrorString);
    const len = [0];
    if (this.mpi.Error_string(code, text, len) !== MPI_SUCCESS) return `MPI error ${code}`;
    return text.subarray(0, len[0]).toString('utf8').replace(/\s+/g, ' ').trim();
  }
}
