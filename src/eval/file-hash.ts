/**
 * SHA-256 of the files an evaluation depends on (weights, statistics, images),
 * so a report says exactly what was scored. Files are hashed in 4 MiB chunks,
 * never read whole.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { UserError } from '../errors.js';

const CHUNK = 4 << 20;

/** Hex SHA-256 of a file's bytes; an unreadable file is a one-line UserError. */
export function sha256File(file: string): string {
  const h = createHash('sha256');
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(e.code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file}: ${e.code ?? e.message}`);
  }
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const got = fs.readSync(fd, buf, 0, CHUNK, null);
      if (got === 0) break;
      h.update(buf.subarray(0, got));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * One digest for a set of files (an image folder): SHA-256 over the lines
 * "<relative path>\t<sha256 of the file>\n" in the given order.
 */
export function sha256FileList(files: readonly { file: string; name: string }[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.name}\t${sha256File(f.file)}\n`);
  return h.digest('hex');
}
