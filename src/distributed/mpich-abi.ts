/**
 * Handle values of the MPICH ABI, copied from Debian's MPICH 4.0.2 mpi.h
 * (/usr/include/x86_64-linux-gnu/mpich/mpi.h, package libmpich-dev). MPICH keeps these
 * fixed since 3.1 (the "MPICH ABI compatibility initiative"), and Intel MPI, MVAPICH and
 * Cray MPICH ship the same ABI, so one table serves every libmpi they build. Handles are
 * plain C ints here (Open MPI's are addresses of library symbols: open-mpi-abi.ts).
 * MPI_SUCCESS is 0 in every MPI (the standard fixes it).
 */
export const MPI_SUCCESS = 0;
export const MPI_COMM_WORLD = 0x44000000;
export const MPI_BYTE = 0x4c00010d;
export const MPI_FLOAT = 0x4c00040a;
export const MPI_DOUBLE = 0x4c00080b;
export const MPI_SUM = 0x58000003;
export const MPI_ERRORS_RETURN = 0x54000001;
/** (void *) -1 */
export const MPI_IN_PLACE = -1;
export const MPI_THREAD_MULTIPLE = 3;
export const MPI_MAX_ERROR_STRING = 512;
export const MPI_MAX_LIBRARY_VERSION_STRING = 8192;
