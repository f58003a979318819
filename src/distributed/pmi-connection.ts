/**
 * Hydra (MPICH's mpiexec) hands each rank its connection to the launcher as an inherited
 * socket named by PMI_FD. `mpiexec -n N npx biggan ...` loses it: npm's own process inherits
 * the socket, but starts the bin in a child of its own with only stdin/out/err, so in biggan
 * PMI_FD names a closed or unrelated descriptor and MPI_Init fails with pages of PMI errors.
 *
 * npm keeps the socket open while it waits for the bin, so on Linux (>= 5.6) biggan takes a
 * duplicate of it from that ancestor with pidfd_getfd(2) and points PMI_FD at the copy.
 * No npm option passes extra descriptors, and no launcher setting in the environment selects
 * Hydra's TCP mode (`-pmi-port`), hence this. Where the duplicate cannot be taken (another
 * kernel, a ptrace policy, a wrapper that closed the socket everywhere) the rank stops with
 * one line naming the fix.
 */
import fs from 'node:fs';
import koffi from 'koffi';
import { UserError } from '../errors.js';

/** how far up the process tree to look: npx → sh → biggan is two levels; wrappers add a few */
const MAX_ANCESTORS = 8;
// Added after syscall numbers were unified across architectures (Linux 5.1+), so the same everywhere.
const SYS_PIDFD_OPEN = 434;
const SYS_PIDFD_GETFD = 438;

/**
 * Makes sure PMI_FD (when Hydra set it) names an open socket in this process, recovering it
 * from the nearest ancestor that still holds it; a one-line UserError when that fails.
 */
export function ensurePmiConnection(env: NodeJS.ProcessEnv = process.env): void {
  const raw = env.PMI_FD;
  if (raw === undefined || env.PMI_PORT !== undefined || !/^\d+$/.test(raw)) return;
  if (isSocket(Number(raw))) return;
  const copy = duplicateFromAncestor(raw, env);
  if (copy === undefined) {
    throw new UserError(`PMI_FD=${raw}, the connection to mpiexec, is not open in this process and no parent process holds it: a wrapper between mpiexec and biggan closed it; launch with \`mpiexec -pmi-port -n N ...\`, or start the biggan script itself under mpiexec`);
  }
  // libmpi reads PMI_FD with getenv() in MPI_Init; Node's process.env writes go to the C environment.
  env.PMI_FD = String(copy);
  process.env.PMI_FD = String(copy);
}

function isSocket(fd: number): boolean {
  try {
    return fs.fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}

/** The ancestor that Hydra started with this PMI_FD (and rank) and that has it open as a socket. */
function duplicateFromAncestor(raw: string, env: NodeJS.ProcessEnv): number | undefined {
  let pid = process.ppid;
  for (let level = 0; level < MAX_ANCESTORS && pid > 1; level++) {
    if (holdsPmiSocket(pid, raw, env.PMI_RANK)) return pidfdGetfd(pid, Number(raw));
    const parent = parentOf(pid);
    if (parent === undefined) return undefined;
    pid = parent;
  }
  return undefined;
}

function holdsPmiSocket(pid: number, raw: string, rank: string | undefined): boolean {
  try {
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    if (!environ.includes(`PMI_FD=${raw}`)) return false;
    if (rank !== undefined && !environ.includes(`PMI_RANK=${rank}`)) return false;
    return fs.readlinkSync(`/proc/${pid}/fd/${raw}`).startsWith('socket:');
  } catch {
    return false; // gone, or not ours to read
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may contain spaces and parentheses
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** A duplicate, in this process, of descriptor `fd` of process `pid`; undefined where the kernel refuses. */
function pidfdGetfd(pid: number, fd: number): number | undefined {
  let syscall: (...args: unknown[]) => number | bigint;
  try {
    syscall = koffi.load('libc.so.6').func('long syscall(long number, ...)') as never;
  } catch {
    return undefined; // not glibc Linux
  }
  const pidfd = Number(syscall(SYS_PIDFD_OPEN, 'int', pid, 'uint', 0));
  if (pidfd < 0) return undefined;
  try {
    const copy = Number(syscall(SYS_PIDFD_GETFD, 'int', pidfd, 'int', fd, 'uint', 0));
    return copy >= 0 ? copy : undefined;
  } finally {
    fs.closeSync(pidfd);
  }
}
