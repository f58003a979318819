/**
 * Finds and binds the system's MPI C library through koffi (no compiled addon of our own).
 * Two ABIs are spoken: MPICH's, whose handles are constant ints (mpich-abi.ts: libmpi.so.12
 * of MPICH's own builds, Intel MPI, MVAPICH, Cray; libmpich.so.12 of Debian's and Ubuntu's
 * MPICH), and Open MPI's, whose handles are addresses of library globals (open-mpi-abi.ts:
 * libmpi.so.40). The launcher decides which: ranks started by Open MPI's mpirun can only
 * join through Open MPI's library, ranks started by a PMI launcher (Hydra, srun --mpi=pmi2)
 * only through an MPICH-ABI one, so with both installed each launch gets its own.
 * BIGGAN_LIBMPI names the library instead (a path or a soname); its ABI is read from its
 * symbols and checked against the launcher before MPI_Init.
 */
import koffi, { type LibraryHandle } from 'koffi';
import { UserError } from '../errors.js';
import type { Launch } from './launch.js';
import {
  MPI_BYTE, MPI_COMM_WORLD, MPI_DOUBLE, MPI_ERRORS_RETURN, MPI_FLOAT, MPI_IN_PLACE,
  MPI_MAX_ERROR_STRING, MPI_MAX_LIBRARY_VERSION_STRING, MPI_SUM, MPI_THREAD_MULTIPLE,
} from './mpich-abi.js';
import {
  OPEN_MPI_IN_PLACE, OPEN_MPI_MAX_ERROR_STRING, OPEN_MPI_MAX_LIBRARY_VERSION_STRING,
  OPEN_MPI_SYMBOLS, OPEN_MPI_THREAD_MULTIPLE,
} from './open-mpi-abi.js';

export type MpiAbi = 'mpich' | 'open-mpi';
/** an MPI handle as passed to the library: an int (MPICH ABI) or an address (Open MPI) */
export type Handle = number | bigint;

/** Everything that differs between the two ABIs. */
interface AbiSpec {
  sonames: string[];
  /** the ABI in messages ("no MPICH-ABI library found") */
  name: string;
  /** the MPI in messages ("... is MPICH: launch with MPICH's mpiexec") */
  mpi: string;
  /** what BIGGAN_LIBMPI should name under a launcher of this ABI */
  library: string;
  hint: string;
  /** the C type of MPI_Comm, MPI_Datatype, MPI_Op and MPI_Errhandler */
  handleType: 'int' | 'intptr_t';
  handles: (lib: LibraryHandle) => MpiHandles;
  threadMultiple: number;
  maxErrorString: number;
  maxVersionString: number;
}

const ABIS: Record<MpiAbi, AbiSpec> = {
  mpich: {
    sonames: ['libmpi.so.12', 'libmpich.so.12'],
    name: 'MPICH-ABI',
    mpi: 'MPICH',
    library: 'an MPICH-ABI libmpi',
    hint: 'install MPICH (Debian/Ubuntu: apt-get install mpich) or set BIGGAN_LIBMPI to an MPICH-ABI libmpi',
    handleType: 'int',
    handles: () => ({
      COMM_WORLD: MPI_COMM_WORLD, BYTE: MPI_BYTE, FLOAT: MPI_FLOAT, DOUBLE: MPI_DOUBLE,
      SUM: MPI_SUM, ERRORS_RETURN: MPI_ERRORS_RETURN, IN_PLACE: MPI_IN_PLACE,
    }),
    threadMultiple: MPI_THREAD_MULTIPLE,
    maxErrorString: MPI_MAX_ERROR_STRING,
    maxVersionString: MPI_MAX_LIBRARY_VERSION_STRING,
  },
  'open-mpi': {
    sonames: ['libmpi.so.40'],
    name: 'Open MPI',
    mpi: 'Open MPI',
    library: "Open MPI's libmpi.so.40",
    hint: "install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin) or set BIGGAN_LIBMPI to Open MPI's libmpi.so.40",
    handleType: 'intptr_t',
    handles: openMpiHandles,
    threadMultiple: OPEN_MPI_THREAD_MULTIPLE,
    maxErrorString: OPEN_MPI_MAX_ERROR_STRING,
    maxVersionString: OPEN_MPI_MAX_LIBRARY_VERSION_STRING,
  },
};
const ANY_HINT = 'install MPICH (Debian/Ubuntu: apt-get install mpich) or Open MPI (apt-get install openmpi-bin) and launch with its mpiexec, or set BIGGAN_LIBMPI to the libmpi of your launcher';

/** Completion callback of a koffi asynchronous call. */
type Done = (err: unknown, code: number) => void;
/** A bound C function: called synchronously, or on koffi's worker threads with .async(..., done). */
interface CFunction<A extends unknown[]> {
  (...args: A): number;
  async(...args: [...A, Done]): void;
}

/** The predefined handles biggan-ts uses, in the loaded library's ABI. */
export interface MpiHandles {
  COMM_WORLD: Handle;
  BYTE: Handle;
  FLOAT: Handle;
  DOUBLE: Handle;
  SUM: Handle;
  ERRORS_RETURN: Handle;
  /** a sendbuf address: (void *) -1 in MPICH, (void *) 1 in Open MPI */
  IN_PLACE: number;
}

/** The MPI functions biggan-ts calls, with the handles and limits of the library's ABI. */
export interface MpiLibrary {
  /** what was loaded, e.g. "libmpich.so.12 (MPICH Version: 4.0.2 ...)" */
  readonly description: string;
  readonly handles: MpiHandles;
  readonly threadMultiple: number;
  readonly maxErrorString: number;
  readonly Initialized: CFunction<[number[]]>;
  readonly Init_thread: CFunction<[null, null, number, number[]]>;
  readonly Finalize: CFunction<[]>;
  readonly Abort: CFunction<[Handle, number]>;
  readonly Comm_rank: CFunction<[Handle, number[]]>;
  readonly Comm_size: CFunction<[Handle, number[]]>;
  readonly Comm_set_errhandler: CFunction<[Handle, Handle]>;
  readonly Error_string: CFunction<[number, Buffer, number[]]>;
  /** sendbuf is an address (handles.IN_PLACE); recvbuf a typed array, passed by pointer without a copy */
  readonly Allreduce: CFunction<[number, ArrayBufferView, number, Handle, Handle, Handle]>;
  readonly Bcast: CFunction<[ArrayBufferView, number, Handle, number, Handle]>;
  readonly Barrier: CFunction<[Handle]>;
}

let loaded: MpiLibrary | undefined;
let configured = false;

/**
 * The ABIs whose library can join this launch, in the order they are tried: Open MPI's
 * mpirun → Open MPI; a PMI launcher → the MPICH ABI; srun without PMI variables → either,
 * Open MPI first when PMIx variables say `srun --mpi=pmix` (Open MPI's way in; Debian's
 * MPICH has no PMIx client), MPICH first otherwise. No launch (a library test): both.
 */
export function abisFor(launch: Launch | null, env: NodeJS.ProcessEnv = process.env): MpiAbi[] {
  if (launch?.launcher === 'open-mpi') return ['open-mpi'];
  if (launch?.launcher === 'pmi') return ['mpich'];
  return env.PMIX_RANK !== undefined ? ['open-mpi', 'mpich'] : ['mpich', 'open-mpi'];
}

/** The launcher in words, with the variable that names it, for error lines. */
function launcherName(launch: Launch): string {
  if (launch.launcher === 'open-mpi') return `Open MPI's mpirun (OMPI_COMM_WORLD_SIZE=${launch.size})`;
  if (launch.launcher === 'pmi') return `a PMI launcher such as MPICH's mpiexec (${launch.size === null ? 'PMI_PORT' : `PMI_SIZE=${launch.size}`})`;
  return `srun (SLURM_STEP_NUM_TASKS=${launch.size})`;
}

/**
 * Loads (once per process) the MPI library that can join `launch`; a one-line UserError,
 * before MPI_Init, naming what was tried when none fits.
 */
export function loadMpiLibrary(env: NodeJS.ProcessEnv = process.env, launch: Launch | null = null): MpiLibrary {
  if (loaded) return loaded;
  // MPICH's collectives need more stack than koffi's 128 KiB default for calls on its
  // worker threads (measured: a 16 MB Allreduce segfaulted); only possible before any load.
  if (!configured) koffi.config({ ...koffi.config(), async_stack_size: 8 * 1024 * 1024 });
  configured = true;
  // UCX (Debian's MPICH is built on it; its Open MPI can use it too) hooks malloc/mmap to
  // track registered memory; under Node that crashed V8 now and then (3 of 80 runs of a 2-rank
  // MPICH test, in V8's compiler, at an unmapped heap address; 0 of 200 without the hooks).
  // Read by libucs when it is loaded.
  process.env.UCX_MEM_EVENTS ??= 'no';
  const abis = abisFor(launch, env);
  const chosen = env.BIGGAN_LIBMPI?.trim();
  const candidates = chosen ? [chosen] : abis.flatMap((abi) => ABIS[abi].sonames);
  const failures: string[] = [];
  for (const name of candidates) {
    let lib: LibraryHandle;
    try {
      lib = koffi.load(name);
    } catch (err) {
      failures.push(`${name} (${firstLine(err)})`);
      continue;
    }
    const abi: MpiAbi = hasSymbol(lib, OPEN_MPI_SYMBOLS.COMM_WORLD) ? 'open-mpi' : 'mpich';
    if (!abis.includes(abi)) {
      // a soname of the other ABI (Open MPI 1.10 was libmpi.so.12 too) is skipped; only
      // BIGGAN_LIBMPI names one on purpose, and only a launcher that fixes the ABI refuses it
      if (!chosen || !launch) {
        failures.push(`${name} (${ABIS[abi].name}, not ${ABIS[abis[0]].name})`);
        continue;
      }
      const { mpi } = ABIS[abi];
      throw new UserError(`started by ${launcherName(launch)}, but ${describe(lib, name, abi)} is ${mpi}: launch with ${mpi}'s mpiexec, or set BIGGAN_LIBMPI to ${ABIS[abis[0]].library}`);
    }
    loaded = bind(lib, name, abi);
    return loaded;
  }
  // a launcher of one MPI with only the other's library installed: the other's mpiexec would do
  const hint = abis.length === 1 ? `${ABIS[abis[0]].hint}, or launch with the mpiexec of the MPI that is installed` : ANY_HINT;
  const source = chosen
    ? `BIGGAN_LIBMPI=${chosen}`
    : launch && abis.length === 1 ? `started by ${launcherName(launch)}, but no ${ABIS[abis[0]].name} library found` : 'no MPI library found';
  throw new UserError(`${source}: tried ${failures.join(', ')}; ${hint}`);
}

function hasSymbol(lib: LibraryHandle, name: string): boolean {
  try {
    lib.symbol(name);
    return true;
  } catch {
    return false;
  }
}

/** "NAME (first line of MPI_Get_library_version)" */
function describe(lib: LibraryHandle, name: string, abi: MpiAbi): string {
  let getVersion: CFunction<[Buffer, number[]]>;
  try {
    getVersion = lib.func('int MPI_Get_library_version(void *version, _Out_ int *len)') as never;
  } catch {
    throw new UserError(`${name} has no MPI_Get_library_version: not an MPI-3 library; ${ABIS[abi].hint}`);
  }
  const text = Buffer.alloc(ABIS[abi].maxVersionString);
  const len = [0];
  getVersion(text, len);
  // Open MPI counts the terminating NUL in len
  const version = text.subarray(0, len[0]).toString('utf8').split(/[\n\0]/)[0].replace(/\s+/g, ' ').trim();
  return `${name} (${version})`;
}

function bind(lib: LibraryHandle, name: string, abi: MpiAbi): MpiLibrary {
  const f = (proto: string) => lib.func(proto) as never;
  const spec = ABIS[abi];
  const H = spec.handleType;
  return {
    description: describe(lib, name, abi),
    handles: spec.handles(lib),
    threadMultiple: spec.threadMultiple,
    maxErrorString: spec.maxErrorString,
    Initialized: f('int MPI_Initialized(_Out_ int *flag)'),
    Init_thread: f('int MPI_Init_thread(void *argc, void *argv, int required, _Out_ int *provided)'),
    Finalize: f('int MPI_Finalize()'),
    Abort: f(`int MPI_Abort(${H} comm, int code)`),
    Comm_rank: f(`int MPI_Comm_rank(${H} comm, _Out_ int *rank)`),
    Comm_size: f(`int MPI_Comm_size(${H} comm, _Out_ int *size)`),
    Comm_set_errhandler: f(`int MPI_Comm_set_errhandler(${H} comm, ${H} handler)`),
    Error_string: f('int MPI_Error_string(int code, void *text, _Out_ int *len)'),
    Allreduce: f(`int MPI_Allreduce(intptr_t sendbuf, void *recvbuf, int count, ${H} datatype, ${H} op, ${H} comm)`),
    Bcast: f(`int MPI_Bcast(void *buffer, int count, ${H} datatype, int root, ${H} comm)`),
    Barrier: f(`int MPI_Barrier(${H} comm)`),
  };
}

/** Open MPI's predefined handles: the addresses of its globals in this process. */
function openMpiHandles(lib: LibraryHandle): MpiHandles {
  const at = (symbol: string): bigint => koffi.address(lib.symbol(symbol));
  const s = OPEN_MPI_SYMBOLS;
  return {
    COMM_WORLD: at(s.COMM_WORLD), BYTE: at(s.BYTE), FLOAT: at(s.FLOAT), DOUBLE: at(s.DOUBLE),
    SUM: at(s.SUM), ERRORS_RETURN: at(s.ERRORS_RETURN), IN_PLACE: OPEN_MPI_IN_PLACE,
  };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
