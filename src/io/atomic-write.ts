/**
 * Atomic file writes: the data goes to a temporary file in the destination's
 * directory, is fsynced, then renamed over the destination. A crash or an error
 * half-way therefore never leaves a truncated file under the final name (rename
 * within one directory is atomic on POSIX), and a failure removes the temp file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

let counter = 0;

/** Writes `chunks` in order to `dest` atomically. Chunks are written as given (no concatenation copy). */
export function writeFileAtomic(dest: string, chunks: Uint8Array | Iterable<Uint8Array>): void {
  const dir = path.dirname(path.resolve(dest));
  if (!fs.existsSync(dir)) throw new UserError(`cannot write ${dest}: directory ${dir} does not exist`);
  // Same directory as the target so that rename() never crosses filesystems.
  const tmp = path.join(dir, `.${path.basename(dest)}.${process.pid}.${Date.now()}.${counter++}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    const list = chunks instanceof Uint8Array ? [chunks] : chunks;
    for (const chunk of list) {
      let done = 0;
      // writeSync may write less than asked (large buffers); loop until all is out.
      while (done < chunk.byteLength) done += fs.writeSync(fd, chunk, done, chunk.byteLength - done);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, dest);
  } catch (err) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing; keep the first error */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* may not exist */ }
    if (err instanceof UserError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e && typeof e.code === 'string') throw new UserError(`cannot write ${dest}: ${e.code} (${e.message.split('\n')[0]})`);
    throw err;
  }
  // Persist the rename itself; best effort (not supported on every platform/filesystem).
  try {
    const dfd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
  } catch { /* ignore */ }
}
