/**
 * The two MPI launchers the MPI tests drive. Installing Debian's openmpi-bin points the plain
 * `mpiexec` at Open MPI's (alternatives priority 50 over MPICH's 40), so the MPICH tests call
 * `mpiexec.mpich` where it exists (plain `mpiexec` otherwise) and the Open MPI tests
 * `mpiexec.openmpi`; .ci/run installs both.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface MpiLauncher {
  /** for test names: "MPICH" or "Open MPI" */
  label: string;
  command: string;
  /** options before `-n N` */
  options: string[];
  /** what the launcher needs in its environment here */
  env: Record<string, string>;
  /** the variable that holds a rank's number in its environment */
  rankVar: string;
  /** what a rank's communicator description says */
  library: RegExp;
  /** the launcher's report of a rank killed with SIGKILL */
  killed: RegExp;
  /** set when the launcher is not installed: why its tests are skipped */
  skip?: string;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export const MPICH: MpiLauncher = {
  label: 'MPICH',
  command: onPath('mpiexec.mpich') ? 'mpiexec.mpich' : 'mpiexec',
  options: [],
  env: {},
  rankVar: 'PMI_RANK',
  library: /MPICH/,
  // the killed rank, or the survivor that UCX aborts when its peer vanishes mid-transfer
  // ("process_vm_readv ... No such process"), whichever Hydra reaps first
  killed: /Killed \(signal 9\)|BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES/,
};

export const OPEN_MPI: MpiLauncher = {
  label: 'Open MPI',
  command: 'mpiexec.openmpi',
  // CI may have fewer cores than ranks
  options: ['--oversubscribe'],
  // Open MPI refuses to start as root without both (the tests run as root in containers)
  env: { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' },
  rankVar: 'OMPI_COMM_WORLD_RANK',
  library: /Open MPI v\d/,
  killed: /exited on signal 9 \(Killed\)/,
  skip: onPath('mpiexec.openmpi') ? undefined : 'mpiexec.openmpi not found: these tests need Open MPI (Debian/Ubuntu: apt-get install openmpi-bin; .ci/run installs it)',
};

/** [command, args] of `mpiexec -n ranks ...rest` with this launcher */
export function mpiexecArgs(launcher: MpiLauncher, ranks: number, rest: string[]): [string, string[]] {
  return [launcher.command, [...launcher.options, '-n', String(ranks), ...rest]];
}

/** the message when the launcher itself is missing (spawn's ENOENT) */
export function missing(launcher: MpiLauncher): string {
  return launcher === OPEN_MPI
    ? OPEN_MPI.skip ?? 'mpiexec.openmpi not found'
    : `${launcher.command} not found: these tests need MPICH (Debian/Ubuntu: apt-get install mpich; .ci/run installs it)`;
}
