/**
 * Reading a user's file, with file-system failures reported as one-line UserErrors.
 * Every loader goes through here, so a directory, a device or a FIFO given where a
 * file is expected is refused before anything is read (a FIFO or /dev/zero would
 * otherwise block or grow without bound).
 */
import fs from 'node:fs';
import { UserError } from '../errors.js';

function fsError(file: string, err: unknown): never {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') throw new UserError(`${file} does not exist`);
  if (e.code === 'EISDIR') throw new UserError(`${file} is a directory, expected a file`);
  if (e.code === 'EACCES') throw new UserError(`${file} is not readable (permission denied)`);
  if (e.code === 'ERR_FS_FILE_TOO_LARGE') throw new UserError(`${file} is too large to read into memory`);
  if (typeof e.code === 'string') throw new UserError(`cannot read ${file}: ${e.code}`);
  throw err;
}

/** The file's size; a missing path, a directory or anything but a regular file is a UserError naming it. */
export function regularFileSize(file: string, what = ''): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    fsError(what ? `${what} ${file}` : file, err);
  }
  const named = what ? `${what} ${file}` : file;
  if (st.isDirectory()) throw new UserError(`${named} is a directory, expected a file`);
  if (!st.isFile()) throw new UserError(`${named} is not a regular file`);
  return st.size;
}

/** Reads a whole file; a missing/unreadable file or a directory becomes a UserError naming it. */
export function readFileForUser(file: string): Buffer {
  regularFileSize(file);
  try {
    return fs.readFileSync(file);
  } catch (err) {
    fsError(file, err);
  }
}

/** The first `n` bytes of a file (fewer when it is shorter), with the same checks as readFileForUser. */
export function readHeadForUser(file: string, n: number): Buffer {
  regularFileSize(file);
  let fd: number | undefined;
  const head = Buffer.alloc(n);
  let got = 0;
  try {
    fd = fs.openSync(file, 'r');
    got = fs.readSync(fd, head, 0, n, 0);
  } catch (err) {
    fsError(file, err);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return head.subarray(0, got);
}

/** Reads and parses a JSON file; missing, unreadable or malformed files become one-line UserErrors. */
export function readJsonForUser(file: string, what = 'file'): unknown {
  const text = readFileForUser(file).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${what} ${file} is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}
