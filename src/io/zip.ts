/**
 * A minimal ZIP reader over an in-memory buffer (PyTorch checkpoints, .npz).
 *
 * Why not fflate's unzipSync: it copies every entry, while PyTorch stores tensor
 * data uncompressed and 64-byte aligned, so we can hand out zero-copy slices of
 * the file buffer. Deflated entries (np.savez_compressed) are inflated with fflate.
 * Supports ZIP64 (PyTorch writes it for large checkpoints). All offsets are
 * bounds-checked; any inconsistency is reported as "truncated or corrupt".
 */
import { inflateSync } from 'fflate';
import { UserError } from '../errors.js';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;

/** Whether the buffer starts like a zip archive (a local file header or an empty archive). */
export function looksLikeZip(buf: Uint8Array): boolean {
  if (buf.length < 4 || buf[0] !== 0x50 || buf[1] !== 0x4b) return false;
  return (buf[2] === 3 && buf[3] === 4) || (buf[2] === 5 && buf[3] === 6);
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE), as stored in zip headers. */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly dv: DataView;
  /** Bytes inflated so far: entries whose data overlap could otherwise inflate the same bytes again and again. */
  private inflated = 0;

  /** `name` is used in error messages (the file path). */
  constructor(readonly buf: Uint8Array, readonly name: string) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.readCentralDirectory();
  }

  private corrupt(why: string): never {
    throw new UserError(`${this.name} is truncated or corrupt (zip: ${why})`);
  }
  private u16(off: number): number {
    if (off < 0 || off + 2 > this.buf.length) this.corrupt(`read past end of file at byte ${off}`);
    return this.dv.getUint16(off, true);
  }
  private u32(off: number): number {
    if (off < 0 || off + 4 > this.buf.length) this.corrupt(`read past end of file at byte ${off}`);
    return this.dv.getUint32(off, true);
  }
  private u64(off: number): number {
    const lo = this.u32(off);
    const hi = this.u32(off + 4);
    const v = hi * 0x100000000 + lo;
    if (!Number.isSafeInteger(v)) this.corrupt(`64-bit field out of range at byte ${off}`);
    return v;
  }

  private readCentralDirectory(): void {
    const buf = this.buf;
    // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
    let eocd = -1;
    for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
      if (this.dv.getUint32(i, true) === SIG_EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) this.corrupt('end of central directory not found');
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || this.u32(loc) !== SIG_EOCD64_LOCATOR) this.corrupt('ZIP64 locator missing');
      const eocd64 = this.u64(loc + 8);
      if (this.u32(eocd64) !== SIG_EOCD64) this.corrupt('ZIP64 end record missing');
      count = this.u64(eocd64 + 32);
      cdSize = this.u64(eocd64 + 40);
      cdOffset = this.u64(eocd64 + 48);
    }
    if (cdOffset + cdSize > buf.length) this.corrupt('central directory lies past end of file');
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (this.u32(p) !== SIG_CENTRAL) this.corrupt(`bad central directory entry ${i}`);
      const method = this.u16(p + 10);
      const crc = this.u32(p + 16);
      let compressedSize = this.u32(p + 20);
      let size = this.u32(p + 24);
      const nameLen = this.u16(p + 28);
      const extraLen = this.u16(p + 30);
      const commentLen = this.u16(p + 32);
      let localHeaderOffset = this.u32(p + 42);
      const nameEnd = p + 46 + nameLen;
      if (nameEnd + extraLen > buf.length) this.corrupt(`central directory entry ${i} past end of file`);
      const name = new TextDecoder().decode(buf.subarray(p + 46, nameEnd));
      // ZIP64 extra field: 64-bit values for exactly the fields saturated above, in this order.
      let e = nameEnd;
      while (e + 4 <= nameEnd + extraLen) {
        const id = this.u16(e);
        const len = this.u16(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === 0xffffffff) { size = this.u64(q); q += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = this.u64(q); q += 8; }
          if (localHeaderOffset === 0xffffffff) { localHeaderOffset = this.u64(q); q += 8; }
        }
        e += 4 + len;
      }
      this.entries.set(name, { name, method, crc32: crc, compressedSize, size, localHeaderOffset });
      p = nameEnd + extraLen + commentLen;
    }
  }

  /** Byte range of an entry's (possibly compressed) data inside the buffer. */
  private dataRange(entry: ZipEntry): [number, number] {
    const h = entry.localHeaderOffset;
    if (this.u32(h) !== SIG_LOCAL) this.corrupt(`bad local header for ${entry.name}`);
    const start = h + 30 + this.u16(h + 26) + this.u16(h + 28);
    const end = start + entry.compressedSize;
    if (end > this.buf.length) this.corrupt(`data of ${entry.name} runs past end of file`);
    return [start, end];
  }

  /**
   * The uncompressed bytes of an entry. Stored entries are zero-copy subarrays of
   * the archive buffer; the CRC is verified unless `verifyCrc` is false.
   */
  read(entryName: string, verifyCrc = true): Uint8Array {
    const entry = this.entries.get(entryName);
    if (!entry) this.corrupt(`entry ${entryName} missing`);
    const [start, end] = this.dataRange(entry);
    let out: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) this.corrupt(`stored entry ${entry.name} has inconsistent sizes`);
      out = this.buf.subarray(start, end);
    } else if (entry.method === 8) {
      // Deflate expands at most ~1032:1, so a larger claimed size is a lie; refusing it keeps the allocation bounded by the file.
      if (entry.size > entry.compressedSize * 1032 + 64) this.corrupt(`${entry.name} claims ${entry.size} bytes from ${entry.compressedSize} compressed`);
      this.inflated += entry.size;
      if (this.inflated > this.buf.length * 1032 + 64) this.corrupt('entries inflate to more than the archive could hold (overlapping entries)');
      try {
        out = inflateSync(this.buf.subarray(start, end), { out: new Uint8Array(entry.size) });
      } catch (err) {
        this.corrupt(`cannot inflate ${entry.name}: ${(err as Error).message}`);
      }
      if (out.length !== entry.size) this.corrupt(`${entry.name} inflates to ${out.length} bytes, expected ${entry.size}`);
    } else {
      throw new UserError(`${this.name}: zip entry ${entry.name} uses unsupported compression method ${entry.method}`);
    }
    if (verifyCrc && crc32(out) !== entry.crc32) this.corrupt(`CRC mismatch in ${entry.name}`);
    return out;
  }
}
