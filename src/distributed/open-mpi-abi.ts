/**
 * Open MPI's handles, read from Debian's Open MPI 4.1.4 mpi.h
 * (/usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h, package libopenmpi-dev): each predefined
 * handle is the address of a global of libmpi.so.40 (`#define MPI_COMM_WORLD
 * OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)`, i.e. `&ompi_mpi_comm_world`), so
 * they are looked up in the loaded library and passed as pointer-sized integers. The names
 * have been the same since Open MPI 1.x; libmpi.so.40 is the soname of 3.0 to 5.x.
 */
export const OPEN_MPI_SYMBOLS = {
  COMM_WORLD: 'ompi_mpi_comm_world',
  BYTE: 'ompi_mpi_byte',
  FLOAT: 'ompi_mpi_float',
  DOUBLE: 'ompi_mpi_double',
  SUM: 'ompi_mpi_op_sum',
  ERRORS_RETURN: 'ompi_mpi_errors_return',
} as const;
/** ((void *) 1) */
export const OPEN_MPI_IN_PLACE = 1;
/** the enum { MPI_THREAD_SINGLE, MPI_THREAD_FUNNELED, MPI_THREAD_SERIALIZED, MPI_THREAD_MULTIPLE } */
export const OPEN_MPI_THREAD_MULTIPLE = 3;
/** OPAL_MAX_ERROR_STRING */
export const OPEN_MPI_MAX_ERROR_STRING = 256;
export const OPEN_MPI_MAX_LIBRARY_VERSION_STRING = 256;
