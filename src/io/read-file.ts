/** Reading a user's file in one go, with file-system failures reported as one-line UserErrors. */
import fs from 'node:fs';
import { UserError } from '../errors.js';

/** Reads a whole file; a missing/unreadable file becomes a UserError naming it. */
export function readFileForUser(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UserError(`${file} does not exist`);
    if (e.code === 'EISDIR') throw new UserError(`${file} is a directory, expected a file`);
    if (e.code === 'EACCES') throw new UserError(`${file} is not readable (permission denied)`);
    if (e.code === 'ERR_FS_FILE_TOO_LARGE') throw new UserError(`${file} is too large to read into memory`);
    if (typeof e.code === 'string') throw new UserError(`cannot read ${file}: ${e.code}`);
    throw err;
  }
}

/** Reads and parses a JSON file; missing, unreadable or malformed files become one-line UserErrors. */
export function readJsonForUser(file: string, what = 'file'): unknown {
  const text = readFileForUser(file).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${what} ${file} is not valid JSON (${(e as Error).message})`);
  }
}
