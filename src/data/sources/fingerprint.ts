/** File-list fingerprints: a changed, added or removed source file changes the digest. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { UserError } from '../../errors.js';

export interface FileStat {
  /** Path as it should appear in the digest (relative to the source root, '/'-separated). */
  name: string;
  size: number;
  mtimeMs: number;
}

/** Stats a file for the fingerprint; a missing/unreadable one is a UserError. */
export function statForFingerprint(file: string, name: string): FileStat {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new UserError(`${file} is a directory, expected a file`);
    return { name, size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    if (err instanceof UserError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UserError(`${file} does not exist`);
    throw new UserError(`cannot read ${file}: ${e.code ?? e.message}`);
  }
}

/** sha256 over "name\tsize\tmtime" lines plus extra key=value parameters. */
export function fingerprintOf(files: readonly FileStat[], extra: Record<string, string | number | boolean> = {}): string {
  const h = crypto.createHash('sha256');
  for (const [k, v] of Object.entries(extra).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) h.update(`${k}=${v}\n`);
  for (const f of files) h.update(`${f.name}\t${f.size}\t${f.mtimeMs}\n`);
  return h.digest('hex');
}
