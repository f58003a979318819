/**
 * NumPy .npz archives: a zip of `<name>.npy` entries (np.savez stores them,
 * np.savez_compressed deflates them). Used for FID statistics files, where
 * pytorch-fid stores `mu` and `sigma`.
 */
import { zipSync } from 'fflate';
import { UserError } from '../errors.js';
import type { NdArray } from './ndarray.js';
import { formatNpy, parseNpy } from './npy.js';
import { readFileForUser } from './read-file.js';
import { writeFileAtomic } from './atomic-write.js';
import { ZipReader, looksLikeZip } from './zip.js';

/** Parses .npz bytes into arrays keyed by entry name without the `.npy` suffix (archive order). */
export function parseNpz(buf: Uint8Array, name: string): Map<string, NdArray> {
  if (!looksLikeZip(buf)) throw new UserError(`${name} is not a .npz file (not a zip archive)`);
  const zip = new ZipReader(buf, name);
  const out = new Map<string, NdArray>();
  for (const entry of zip.entries.keys()) {
    // np.load only turns `.npy` members into arrays; anything else is not ours to interpret.
    if (!entry.endsWith('.npy')) continue;
    out.set(entry.slice(0, -4), parseNpy(zip.read(entry), `${name}:${entry}`));
  }
  return out;
}

/** Reads a .npz file into arrays keyed by name (e.g. `mu`, `sigma`). */
export function readNpz(file: string): Map<string, NdArray> {
  return parseNpz(readFileForUser(file), file);
}

/**
 * Writes arrays as an uncompressed .npz (like np.savez), atomically. A fixed
 * timestamp keeps the output byte-reproducible.
 */
export function writeNpz(file: string, arrays: Record<string, NdArray> | Map<string, NdArray>): void {
  const entries = arrays instanceof Map ? [...arrays] : Object.entries(arrays);
  const files: Record<string, Uint8Array> = {};
  for (const [key, arr] of entries) {
    if (key.length === 0 || key.includes('\0')) throw new UserError(`cannot write ${file}: invalid array name ${JSON.stringify(key)}`);
    files[`${key}.npy`] = formatNpy(arr, `${file}:${key}`);
  }
  writeFileAtomic(file, zipSync(files, { level: 0, mtime: new Date(1980, 0, 1) }));
}
