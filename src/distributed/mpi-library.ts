/**
 * Finds and binds the system's MPI C library through koffi (no compiled addon of our own).
 * BIGGAN_LIBMPI names the library to use (a path or a soname); otherwise the sonames of
 * the MPICH ABI are tried (libmpi.so.12: MPICH's own builds, Intel MPI, MVAPICH, Cray;
 * libmpich.so.12: Debian's and Ubuntu's MPICH), then Open MPI's libmpi.so.40 only to say
 * that it is not supported: its handles are pointers to library symbols, not the MPICH
 * ABI's constant ints (mpich-abi.ts).
 */
import koffi, { type LibraryHandle } from 'koffi';
import { UserError } from '../errors.js';
import { MPI_MAX_LIBRARY_VERSION_STRING } from './mpich-abi.js';

export const MPICH_SONAMES = ['libmpi.so.12', 'libmpich.so.12'];
const OPEN_MPI_SONAMES = ['libmpi.so.40'];
export const INSTALL_HINT = "install MPICH (Debian/Ubuntu: apt-get install mpich) or set BIGGAN_LIBMPI to an MPICH-ABI libmpi";

/** Completion callback of a koffi asynchronous call. */
type Done = (err: unknown, code: number) => void;
/** A bound C function: called synchronously, or on koffi's worker threads with .async(..., done). */
interface CFunction<A extends unknown[]> {
  (...args: A): number;
  async(...args: [...A, Done]): void;
}

/** The MPI functions biggan-ts calls (MPICH ABI: handles are ints). */
export interface MpiLibrary {
  /** what was loaded, e.g. "libmpich.so.12 (MPICH Version: 4.0.2 ...)" */
  readonly description: string;
  readonly Initialized: CFunction<[number[]]>;
  readonly Init_thread: CFunction<[null, null, number, number[]]>;
  readonly Finalize: CFunction<[]>;
  readonly Abort: CFunction<[number, number]>;
  readonly Comm_rank: CFunction<[number, number[]]>;
  readonly Comm_size: CFunction<[number, number[]]>;
  readonly Comm_set_errhandler: CFunction<[number, number]>;
  readonly Error_string: CFunction<[number, Buffer, number[]]>;
  /** sendbuf is an address (MPI_IN_PLACE = -1); recvbuf a typed array, passed by pointer without a copy */
  readonly Allreduce: CFunction<[number, ArrayBufferView, number, number, number, number]>;
  readonly Bcast: CFunction<[ArrayBufferView, number, number, number, number]>;
  readonly Barrier: CFunction<[number]>;
}

let loaded: MpiLibrary | undefined;
let configured = false;

/** Loads (once per process) the MPI library; a one-line UserError naming what was tried when none fits. */
export function loadMpiLibrary(env: NodeJS.ProcessEnv = process.env): MpiLibrary {
  if (loaded) return loaded;
  // MPICH's collectives need more stack than koffi's 128 KiB default for calls on its
  // worker threads (measured: a 16 MB Allreduce segfaulted); only possible before any load.
  if (!configured) koffi.config({ ...koffi.config(), async_stack_size: 8 * 1024 * 1024 });
  configured = true;
  // UCX (Debian's MPICH is built on it) hooks malloc/mmap to track registered memory; under
  // Node that crashed V8 now and then (3 of 80 runs of a 2-rank test, in V8's compiler, at an
  // unmapped heap address; 0 of 200 without the hooks). Read by libucs when it is loaded.
  process.env.UCX_MEM_EVENTS ??= 'no';
  const chosen = env.BIGGAN_LIBMPI?.trim();
  const candidates = chosen ? [chosen] : [...MPICH_SONAMES, ...OPEN_MPI_SONAMES];
  const failures: string[] = [];
  for (const name of candidates) {
    let lib: LibraryHandle;
    try {
      lib = koffi.load(name);
    } catch (err) {
      failures.push(`${name} (${firstLine(err)})`);
      continue;
    }
    if (isOpenMpi(lib)) {
      throw new UserError(`${name} is Open MPI, whose handles are not the MPICH ABI that biggan-ts calls: ${INSTALL_HINT}, and launch with its mpiexec`);
    }
    loaded = bind(lib, name);
    return loaded;
  }
  const source = chosen ? `BIGGAN_LIBMPI=${chosen}` : 'no MPI library found';
  throw new UserError(`${source}: tried ${failures.join(', ')}; ${INSTALL_HINT}`);
}

function isOpenMpi(lib: LibraryHandle): boolean {
  try {
    lib.symbol('ompi_mpi_comm_world');
    return true;
  } catch {
    return false;
  }
}

function bind(lib: LibraryHandle, name: string): MpiLibrary {
  const f = (proto: string) => lib.func(proto) as never;
  let getVersion: CFunction<[Buffer, number[]]>;
  try {
    getVersion = f('int MPI_Get_library_version(void *version, _Out_ int *len)');
  } catch {
    throw new UserError(`${name} has no MPI_Get_library_version: not an MPI-3 library; ${INSTALL_HINT}`);
  }
  const text = Buffer.alloc(MPI_MAX_LIBRARY_VERSION_STRING);
  const len = [0];
  getVersion(text, len);
  const version = text.subarray(0, len[0]).toString('utf8').split('\n')[0].replace(/\s+/g, ' ').trim();
  return {
    description: `${name} (${version})`,
    Initialized: f('int MPI_Initialized(_Out_ int *flag)'),
    Init_thread: f('int MPI_Init_thread(void *argc, void *argv, int required, _Out_ int *provided)'),
    Finalize: f('int MPI_Finalize()'),
    Abort: f('int MPI_Abort(int comm, int code)'),
    Comm_rank: f('int MPI_Comm_rank(int comm, _Out_ int *rank)'),
    Comm_size: f('int MPI_Comm_size(int comm, _Out_ int *size)'),
    Comm_set_errhandler: f('int MPI_Comm_set_errhandler(int comm, int handler)'),
    Error_string: f('int MPI_Error_string(int code, void *text, _Out_ int *len)'),
    Allreduce: f('int MPI_Allreduce(intptr_t sendbuf, void *recvbuf, int count, int datatype, int op, int comm)'),
    Bcast: f('int MPI_Bcast(void *buffer, int count, int datatype, int root, int comm)'),
    Barrier: f('int MPI_Barrier(int comm)'),
  };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
