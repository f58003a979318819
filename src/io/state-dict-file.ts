/**
 * One entry point for loading weights: detects the format from the file's bytes
 * (not its extension, since e.g. HF `pytorch_model.bin` may be zip or legacy and
 * people rename files freely) and returns an ordered name -> tensor map.
 */
import fs from 'node:fs';
import { UserError } from '../errors.js';
import type { NdArray } from './ndarray.js';
import { looksLikeSafetensors, parseSafetensors } from './safetensors.js';
import { parseTorchFile, stateDictFromValue } from './torch-checkpoint.js';
import { parseNpz } from './npz.js';
import { readFileForUser } from './read-file.js';
import { ZipReader, looksLikeZip } from './zip.js';

export type StateDictFormat = 'safetensors' | 'torch-zip' | 'torch-legacy' | 'npz' | 'unknown';

/** Classifies file contents by their leading bytes (and, for zips, their entry names). */
export function detectStateDictFormat(buf: Uint8Array, name: string): StateDictFormat {
  if (looksLikeZip(buf)) {
    const zip = new ZipReader(buf, name);
    const names = [...zip.entries.keys()];
    if (names.some((e) => e === 'data.pkl' || e.endsWith('/data.pkl'))) return 'torch-zip';
    if (names.length > 0 && names.every((e) => e.endsWith('.npy'))) return 'npz';
    return 'unknown';
  }
  if (looksLikeSafetensors(buf)) return 'safetensors';
  if (buf.length > 0 && buf[0] === 0x80) return 'torch-legacy'; // pickle PROTO opcode; parseTorchFile checks the magic
  return 'unknown';
}

/**
 * Reads a state dict from a safetensors file, a torch.save checkpoint (zip or
 * legacy; nested 'state_dict' / 'model' / 'G' handled as in stateDictFromValue)
 * or an .npz of named arrays. Order is the file's order.
 */
export function readStateDict(file: string): Map<string, NdArray> {
  if (!fs.existsSync(file)) throw new UserError(`${file} does not exist`);
  const buf = readFileForUser(file);
  switch (detectStateDictFormat(buf, file)) {
    case 'safetensors': return parseSafetensors(buf, file).tensors;
    case 'torch-zip':
    case 'torch-legacy': return stateDictFromValue(parseTorchFile(buf, file), file);
    case 'npz': return parseNpz(buf, file);
    default:
      if (buf.length === 0) throw new UserError(`${file} is empty`);
      throw new UserError(`${file} is not a recognised weights file (expected safetensors, a PyTorch checkpoint or .npz)`);
  }
}
