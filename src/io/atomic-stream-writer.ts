/**
 * A file streamed to a temporary name beside its destination and renamed over it
 * on commit (fsynced first), so a crash never leaves a partial file under the
 * final name. For files too large to assemble in memory (atomic-write.ts takes
 * whole chunks); `writeAt` lets a fixed prefix be written last.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class AtomicStreamWriter {
  private fd: number | null;
  private readonly tmp: string;
  private pos = 0;

  constructor(readonly dest: string) {
    const dir = path.dirname(dest);
    fs.mkdirSync(dir, { recursive: true });
    this.tmp = path.join(dir, `.${path.basename(dest)}.${process.pid}.${Date.now()}.${crypto.randomBytes(4).toString('hex')}.tmp`);
    this.fd = fs.openSync(this.tmp, 'wx', 0o644);
  }

  get position(): number {
    return this.pos;
  }

  write(bytes: Uint8Array): void {
    this.writeAt(bytes, this.pos);
    this.pos += bytes.length;
  }

  writeAt(bytes: Uint8Array, position: number): void {
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd!, bytes, done, bytes.length - done, position + done);
  }

  commit(): void {
    fs.fsyncSync(this.fd!);
    fs.closeSync(this.fd!);
    this.fd = null;
    fs.renameSync(this.tmp, this.dest);
    try {
      const dfd = fs.openSync(path.dirname(this.dest), 'r');
      try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
    } catch { /* best effort */ }
  }

  abort(): void {
    if (this.fd !== null) {
      try { fs.closeSync(this.fd); } catch { /* ignore */ }
      this.fd = null;
    }
    try { fs.unlinkSync(this.tmp); } catch { /* ignore */ }
  }
}
