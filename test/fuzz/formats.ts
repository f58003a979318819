/**
 * The file formats the loader fuzz test attacks: for each, valid seed files (built
 * here, or small shared fixtures), format-aware mutators (length fields set to huge
 * values, nested thousands deep, JSON fields given wrong types or absurd sizes), and
 * the loader a user's file goes through.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { zipSync } from 'fflate';
import { Rng } from '../../src/random/rng.js';
import type { NdArray } from '../../src/io/ndarray.js';
import { formatNpy, readNpy } from '../../src/io/npy.js';
import { readNpz, writeNpz } from '../../src/io/npz.js';
import { formatSafetensors, parseSafetensors, readSafetensors } from '../../src/io/safetensors.js';
import { readStateDict } from '../../src/io/state-dict-file.js';
import { unpickle } from '../../src/io/pickle.js';
import { ZipReader } from '../../src/io/zip.js';
import { readStatsFile } from '../../src/metrics/stats-file.js';
import { loadDiscriminator, loadGenerator, saveCheckpoint } from '../../src/models/checkpoint.js';
import { parseDiscriminatorArgs, parseGeneratorArgs } from '../../src/models/biggan-config.js';
import { BigGANGenerator } from '../../src/models/biggan-generator.js';
import { BigGANDiscriminator } from '../../src/models/biggan-discriminator.js';
import { BigGanDeepGenerator } from '../../src/models/biggan-deep-generator.js';
import { bigGanDeepFromStateDict } from '../../src/models/layouts/pretrained-biggan-loader.js';
import { bigGanDeepConfig } from '../../src/models/biggan-deep-config.js';
import { readBigGanDeepConfig } from '../../src/models/layouts/pretrained-biggan-config.js';
import { discriminatorFromStateDict, generatorFromStateDict } from '../../src/models/layouts/biggan-pytorch.js';
import { PreparedDataset, openDataset } from '../../src/data/prepared-dataset.js';
import { Cifar10Source } from '../../src/data/sources/cifar10.js';
import { NpySource } from '../../src/data/sources/npy.js';
import { decodeImage } from '../../src/data/decode.js';
import { readPng } from '../../src/image/png-read.js';
import { readTrainingCheckpoint } from '../../src/train/run/train-checkpoint.js';
import { parseStoredConfig, resolveConfig } from '../../src/train/run/config.js';
import { emptyWatchState } from '../../src/train/run/collapse-watch.js';
import { PT_REF } from '../fixture-paths.js';
import { BOUNDARY_INTS, Mutated, Mutator, concat, fromUtf8, mutateJsonText, pick, utf8, writeUint } from './mutators.js';

export interface FuzzFormat {
  name: string;
  /** Names of the seed files (in the seed folder) this format mutates. */
  seeds: string[];
  /** Format-aware mutators, used for about half the inputs (generic byte mutators for the rest). */
  mutators: Mutator[];
  /**
   * Loads a mutated input written at `file` (inside its own folder `dir`, beside copies of
   * any companion files) the whole way a user's file goes. Throws on failure.
   */
  load(file: string, dir: string, ctx: LoadContext): Promise<void> | void;
  /** The clean error for this format (UserError, or BadImageError for images, which becomes one). */
  isCleanError?(err: unknown): boolean;
  /** Companion seed files copied beside the input, unmutated (e.g. CIFAR's batches.meta.txt). */
  companions?: { seed: string; as: string }[];
  /** Name the input is written under in its folder (default: the seed's name). */
  inputName?: string;
}

/** State shared by the loaders in one worker (fixture weights read once). */
export interface LoadContext {
  seedDir: string;
  cache: Map<string, unknown>;
}

function cached<T>(ctx: LoadContext, key: string, make: () => T): T {
  if (!ctx.cache.has(key)) ctx.cache.set(key, make());
  return ctx.cache.get(key) as T;
}

// ---------------------------------------------------------------- pickles

const PROTO2 = [0x80, 0x02];
const STOP = 0x2e;
/** The legacy torch magic number pickled as torch.save writes it. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, STOP];

/** `depth` lists nested in one another: ]]]...]aaa...a. */
function nestedListsPickle(depth: number): Uint8Array {
  const out = new Uint8Array(2 + depth + (depth - 1) + 1);
  out.set(PROTO2, 0);
  out.fill(0x5d, 2, 2 + depth);
  out.fill(0x61, 2 + depth, 2 + depth + depth - 1);
  out[out.length - 1] = STOP;
  return out;
}

/** A dict {nested lists: 1} (the key is a deeply nested tuple-free list, reaching error paths that print keys). */
function nestedKeyPickle(depth: number): Uint8Array {
  const key = nestedListsPickle(depth).subarray(2, -1);
  return Uint8Array.from([...PROTO2, 0x7d, ...key, 0x4b, 1, 0x73, STOP]);
}

function long4Pickle(n: number, fill: number): Uint8Array {
  const out = new Uint8Array(2 + 5 + n + 1);
  out.set(PROTO2, 0);
  out[2] = 0x8b;
  writeUint(out, 3, 4, BigInt(n));
  out.fill(fill, 7, 7 + n);
  out[out.length - 1] = STOP;
  return out;
}

/** A legacy torch.save file whose object pickle is `main` and which lists no storages. */
function legacyFile(main: Uint8Array): Uint8Array {
  const protocol = Uint8Array.from([...PROTO2, 0x4d, 0xe9, 0x03, STOP]); // BININT2 1001
  const sys = Uint8Array.from([...PROTO2, 0x7d, STOP]);
  const keys = Uint8Array.from([...PROTO2, 0x5d, STOP]);
  return concat(Uint8Array.from(LEGACY_MAGIC), protocol, sys, main, keys);
}

/** Opcodes followed by a length (and the length's width in bytes). */
const LENGTH_OPCODES = new Map<number, number>([
  [0x58, 4], [0x42, 4], [0x8b, 4], [0x54, 4], [0x8d, 8], [0x8e, 8], [0x96, 8], [0x95, 8], [0x8a, 1], [0x8c, 1], [0x43, 1], [0x55, 1],
  [0x6a, 4], [0x72, 4],
]);

/** Sets the length after a length-carrying opcode (found by scanning: may hit data, which is fine) to a boundary value. */
const pickleLength: Mutator = (b, rng) => {
  const at: number[] = [];
  for (let i = 0; i < b.length; i++) if (LENGTH_OPCODES.has(b[i]!)) at.push(i);
  if (at.length === 0) return { bytes: b, desc: 'no length opcode' };
  const i = pick(rng, at);
  const width = LENGTH_OPCODES.get(b[i]!)!;
  const v = pick(rng, BOUNDARY_INTS);
  const out = Uint8Array.from(b);
  writeUint(out, i + 1, width, v);
  return { bytes: out, desc: `pickle opcode 0x${b[i]!.toString(16)} at ${i}: length ${v}` };
};

const picklesReplaced = (rng: Rng): Mutated => {
  const kind = rng.int(3);
  const depth = pick(rng, [1000, 5000, 100000]);
  if (kind === 0) return { bytes: nestedListsPickle(depth), desc: `lists nested ${depth} deep` };
  if (kind === 1) return { bytes: nestedKeyPickle(depth), desc: `dict key nested ${depth} deep` };
  const n = pick(rng, [300_000, 1_100_000, 64]);
  return { bytes: long4Pickle(n, pick(rng, [0x00, 0xff, 0x5a])), desc: `LONG4 of ${n} bytes` };
};

// ---------------------------------------------------------------- zip

/** Sets a central-directory or end-record field to a boundary value. */
const zipField: Mutator = (b, rng) => {
  const sites: { off: number; width: number; what: string }[] = [];
  for (let i = 0; i + 4 <= b.length; i++) {
    if (b[i] !== 0x50 || b[i + 1] !== 0x4b) continue;
    const sig = b[i + 2]! | (b[i + 3]! << 8);
    if (sig === 0x0201) {
      for (const [o, w, what] of [[10, 2, 'method'], [20, 4, 'csize'], [24, 4, 'size'], [28, 2, 'nameLen'], [30, 2, 'extraLen'], [42, 4, 'localOffset']] as const) {
        sites.push({ off: i + o, width: w, what: `central ${what}` });
      }
    } else if (sig === 0x0605) {
      for (const [o, w, what] of [[10, 2, 'count'], [12, 4, 'cdSize'], [16, 4, 'cdOffset']] as const) sites.push({ off: i + o, width: w, what: `eocd ${what}` });
    } else if (sig === 0x0403) {
      for (const [o, w, what] of [[26, 2, 'nameLen'], [28, 2, 'extraLen']] as const) sites.push({ off: i + o, width: w, what: `local ${what}` });
    }
  }
  if (sites.length === 0) return { bytes: b, desc: 'no zip records' };
  const s = pick(rng, sites);
  const out = Uint8Array.from(b);
  const v = s.what.endsWith('method') ? pick(rng, [8n, 0n, 12n, 99n]) : pick(rng, BOUNDARY_INTS);
  writeUint(out, s.off, s.width, v);
  return { bytes: out, desc: `${s.what} at ${s.off} = ${v}` };
};

/** The archive rewritten (with fflate, stored) after mutating one entry that `which` selects. */
function rezipped(b: Uint8Array, rng: Rng, which: (name: string) => boolean, mutate: Mutator): Mutated {
  let zip: ZipReader;
  try {
    zip = new ZipReader(b, 'seed');
  } catch {
    return { bytes: b, desc: 'not a zip' };
  }
  const names = [...zip.entries.keys()];
  const chosen = names.filter(which);
  if (chosen.length === 0) return { bytes: b, desc: 'no such entry' };
  const target = pick(rng, chosen);
  const files: Record<string, Uint8Array> = {};
  let desc = '';
  for (const name of names) {
    const data = zip.read(name, false);
    if (name !== target) {
      files[name] = data;
      continue;
    }
    const m = mutate(data, rng);
    files[name] = m.bytes;
    desc = `${name}: ${m.desc}`;
  }
  return { bytes: zipSync(files, { level: 0 }), desc };
}

const isDataPkl = (name: string): boolean => name.endsWith('data.pkl');

// ---------------------------------------------------------------- npy / safetensors / JSON containers

/** Rewrites an .npy header (dict text) keeping the data. */
function npyWithHeader(b: Uint8Array, text: (old: string) => string): Uint8Array {
  if (b.length < 10) return b;
  const v2 = b[6] !== 1;
  const start = v2 ? 12 : 10;
  const len = v2 ? b[8]! | (b[9]! << 8) | (b[10]! << 16) | (b[11]! << 24) : b[8]! | (b[9]! << 8);
  const t = text(fromUtf8(b.subarray(start, start + len)));
  const h = utf8(t);
  const prefix = new Uint8Array(12);
  prefix.set(b.subarray(0, 6));
  prefix[6] = 2;
  prefix[7] = 0;
  writeUint(prefix, 8, 4, BigInt(h.length));
  return concat(prefix, h, b.subarray(start + len));
}

const npyHeaderMutator: Mutator = (b, rng) => {
  const depth = pick(rng, [100, 3000, 50000]);
  const variants: [string, (t: string) => string][] = [
    [`shape nested ${depth} deep`, (t) => t.replace(/'shape': \([^)]*\)/, `'shape': ${'('.repeat(depth)}${')'.repeat(depth)}`)],
    [`descr nested ${depth} deep`, (t) => t.replace(/'descr': '[^']*'/, `'descr': ${'['.repeat(depth)}${']'.repeat(depth)}`)],
    ['huge dims', (t) => t.replace(/'shape': \([^)]*\)/, `'shape': (${pick(rng, ['9007199254740991', '4294967296, 4294967296', '1000000000, 1000000000, 0', '-1', '99999999999999999999'])},)`)],
    ['many dims', (t) => t.replace(/'shape': \([^)]*\)/, `'shape': (${new Array(pick(rng, [65, 1000, 100000])).fill('2').join(', ')})`)],
    ['descr', (t) => t.replace(/'descr': '[^']*'/, `'descr': ${pick(rng, ["'<U8'", "'|O'", "'>f4'", "'__proto__'", "'constructor'", '[]', '1', "''"])}`)],
    ['fortran', (t) => t.replace(/'fortran_order': \w+/, `'fortran_order': ${pick(rng, ['True', '0', 'None', "'x'"])}`)],
    ['dict keys', (t) => t.replace('{', pick(rng, ["{'__proto__': 1, ", "{'shape': (1,), 'shape': (2,), ", '{1: 2, ', "{'a': {'b': {'c': (("]))],
    ['header length', (t) => t + ' '.repeat(pick(rng, [1, 70000]))],
  ];
  const [what, f] = pick(rng, variants);
  return { bytes: npyWithHeader(b, f), desc: `npy header: ${what}` };
};

/** The safetensors header's JSON and what follows it, or null. */
function splitSafetensors(b: Uint8Array): { json: string; rest: Uint8Array } | null {
  if (b.length < 8) return null;
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  if (n > b.length - 8) return null;
  return { json: fromUtf8(b.subarray(8, 8 + n)), rest: b.subarray(8 + n) };
}

function joinSafetensors(json: string, rest: Uint8Array): Uint8Array {
  const h = utf8(json);
  const len = new Uint8Array(8);
  writeUint(len, 0, 8, BigInt(h.length));
  return concat(len, h, rest);
}

const safetensorsHeaderJson: Mutator = (b, rng) => {
  const parts = splitSafetensors(b);
  if (!parts) return { bytes: b, desc: 'no header' };
  const m = mutateJsonText(parts.json, rng);
  if (!m) return { bytes: b, desc: 'header not JSON' };
  return { bytes: joinSafetensors(m.text, parts.rest), desc: `safetensors header ${m.desc}` };
};

const safetensorsLength: Mutator = (b, rng) => {
  const out = Uint8Array.from(b);
  const v = pick(rng, [...BOUNDARY_INTS, 100_000_000n, 99_999_999n]);
  writeUint(out, 0, 8, v);
  return { bytes: out, desc: `safetensors header length ${v}` };
};

/** Our checkpoint: one metadata entry (G, D, class_names, format, version, training) mutated as JSON. */
const checkpointMetadata: Mutator = (b, rng) => {
  let parsed;
  try {
    parsed = parseSafetensors(b, 'seed');
  } catch {
    return { bytes: b, desc: 'seed not parseable' };
  }
  const meta = { ...parsed.metadata };
  const key = 'training' in meta && rng.int(2) === 0 ? 'training' : pick(rng, ['G', 'G', 'G', 'D', 'D', 'class_names', 'format', 'version']);
  const old = meta[key] ?? '{}';
  const m = rng.int(8) === 0 ? { text: pick(rng, ['', 'null', '{', '[]', '"x"']), desc: 'replaced' } : mutateJsonText(old, rng);
  meta[key] = m ? m.text : old;
  return { bytes: formatSafetensors(parsed.tensors, meta), desc: `metadata ${key}: ${m?.desc ?? 'unchanged'}` };
};

function jsonFileMutator(b: Uint8Array, rng: Rng): Mutated {
  const m = mutateJsonText(fromUtf8(b), rng);
  return m ? { bytes: utf8(m.text), desc: m.desc } : { bytes: b, desc: 'not JSON' };
}

/** .bgd: the JSON header at the end mutated (offset/length fields kept consistent), or a prefix field set. */
const bgdHeader: Mutator = (b, rng) => {
  if (b.length < 64) return { bytes: b, desc: 'short' };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hOff = Number(dv.getBigUint64(16, true));
  if (rng.int(3) === 0 || hOff > b.length) {
    const out = Uint8Array.from(b);
    const field = pick(rng, [8, 16, 24]);
    const v = pick(rng, BOUNDARY_INTS);
    writeUint(out, field, field === 8 ? 4 : 8, v);
    return { bytes: out, desc: `bgd prefix field ${field} = ${v}` };
  }
  const m = mutateJsonText(fromUtf8(b.subarray(hOff)), rng);
  if (!m) return { bytes: b, desc: 'header not JSON' };
  const h = utf8(m.text);
  const out = concat(b.subarray(0, hOff), h);
  writeUint(out, 24, 8, BigInt(h.length));
  return { bytes: out, desc: `bgd header ${m.desc}` };
};

// ---------------------------------------------------------------- images

/** Sets the size fields in a PNG IHDR (CRC fixed up or not), a JPEG SOF or a WebP VP8X header. */
const imageSize: Mutator = (b, rng) => {
  const out = Uint8Array.from(b);
  // 16383x16383 (the JPEG maximum) the most often: a tiny file claiming it once decoded to 1.6 GiB
  const w = pick(rng, [0, 1, 16383, 16383, 16383, 65535, 100000, 1 << 30]);
  const h = pick(rng, [0, 1, 16383, 16383, 16383, 65535, 100000]);
  if (b[0] === 0x89 && b.length >= 33) {
    writeUint(out, 16, 4, BigInt(w), false);
    writeUint(out, 20, 4, BigInt(h), false);
    return { bytes: out, desc: `PNG IHDR ${w}x${h}` };
  }
  if (b[0] === 0xff) {
    for (let i = 2; i + 9 < b.length; i++) {
      if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc1 || b[i + 1] === 0xc2)) {
        writeUint(out, i + 5, 2, BigInt(h & 0xffff), false);
        writeUint(out, i + 7, 2, BigInt(w & 0xffff), false);
        return { bytes: out, desc: `JPEG SOF ${w & 0xffff}x${h & 0xffff}` };
      }
    }
    return { bytes: out, desc: 'no SOF' };
  }
  if (b.length >= 30) {
    // VP8 (lossy): 14-bit width/height at 26/28; VP8L: packed at 21; VP8X: 24-bit canvas size - 1 at 24/27.
    const chunk = fromUtf8(b.subarray(12, 16));
    if (chunk === 'VP8X') {
      writeUint(out, 24, 3, BigInt(Math.max(0, w - 1)));
      writeUint(out, 27, 3, BigInt(Math.max(0, h - 1)));
    } else {
      writeUint(out, 26, 2, BigInt(w & 0x3fff));
      writeUint(out, 28, 2, BigInt(h & 0x3fff));
    }
    return { bytes: out, desc: `WebP ${chunk} ${w}x${h}` };
  }
  return { bytes: out, desc: 'short image' };
};

const isCleanImageError = (err: unknown): boolean => err instanceof Error && (err.name === 'UserError' || err.name === 'BadImageError');

// ---------------------------------------------------------------- seeds

/** Writes the seed files into `dir` (built by the code under test, or copied from small shared fixtures). */
export async function writeSeeds(dir: string): Promise<void> {
  const w = (name: string, bytes: Uint8Array): void => fs.writeFileSync(path.join(dir, name), bytes);
  const arr = (dtype: NdArray['dtype'], shape: number[], data: NdArray['data']): NdArray => ({ dtype, shape, data });
  w('a.npy', formatNpy(arr('float32', [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]))));
  w('b.npy', formatNpy(arr('int64', [3], BigInt64Array.from([0n, 1n, 2n]))));
  w('c.npy', formatNpy(arr('uint8', [2, 2, 2, 3], Uint8Array.from({ length: 24 }, (_, i) => i * 10))));
  w('z.npy', formatNpy(arr('float64', [], Float64Array.from([0.5]))));
  const mu = arr('float64', [3], Float64Array.from([0.1, 0.2, 0.3]));
  const sigma = arr('float64', [3, 3], Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]));
  writeNpz(path.join(dir, 'stats.npz'), { mu, sigma });
  w('stats-deflated.npz', zipSync({ 'mu.npy': formatNpy(mu), 'sigma.npy': formatNpy(sigma) }, { level: 6 }));
  w('t.safetensors', formatSafetensors([
    ['w', arr('float32', [2, 2], Float32Array.from([1, 2, 3, 4]))],
    ['b', arr('float16', [3], Uint16Array.from([1, 2, 3]))],
    ['i', arr('int64', [1], BigInt64Array.from([7n]))],
  ], { note: 'seed' }));

  // Torch checkpoints: a small fixture of each container, and hand-built legacy files.
  fs.copyFileSync(path.join(PT_REF, 'ajbrock-biggan-32-train-step', 'initial', 'D.pth'), path.join(dir, 'D32.pth'));
  const legacySubset = path.join(PT_REF, 'hf-biggan-deep-128-w8', 'pytorch_model.legacy-subset.bin');
  fs.copyFileSync(legacySubset, path.join(dir, 'legacy-subset.bin'));
  w('legacy-empty.bin', legacyFile(Uint8Array.from([...PROTO2, 0x7d, STOP])));
  const zip = new ZipReader(fs.readFileSync(path.join(dir, 'D32.pth')), 'D32.pth');
  const pkl = [...zip.entries.keys()].find((e) => e.endsWith('data.pkl'))!;
  w('data.pkl', zip.read(pkl));
  w('list.pkl', Uint8Array.from([...PROTO2, 0x5d, 0x28, 0x4b, 1, 0x4b, 2, 0x8a, 0x02, 0xff, 0x7f, 0x58, 2, 0, 0, 0, 0x68, 0x69, 0x65, STOP]));

  // Our checkpoints: tiny BigGAN 32 (G + D) and a tiny BigGAN-deep G, written by saveCheckpoint.
  const gArgs = { resolution: 32, G_ch: 4, dim_z: 8, n_classes: 3, G_attn: '32', shared_dim: 4, hier: true };
  const G = new BigGANGenerator(parseGeneratorArgs(gArgs));
  const D = new BigGANDiscriminator(parseDiscriminatorArgs({ resolution: 32, D_ch: 4, n_classes: 3, D_attn: '0' }));
  saveCheckpoint(path.join(dir, 'ours32.safetensors'), { G, G_ema: G, D, classNames: ['a', 'b', 'c'] });
  // A training checkpoint's metadata (the state a resume reads) on the same tensors.
  const training = {
    step: 3, config: resolveConfig({ resolution: 32, gCh: 4, dCh: 4, batch: 2, steps: 10 }),
    loader: { version: 1, epoch: 0, batch: 1, epochRng: [1, 2, 3, 4], batchSize: 2, flip: false, count: 3 },
    watch: emptyWatchState(), healthy: true, standing: null, data: { kind: 'npy', source: 'x', count: 3 }, elapsedSeconds: 1.5,
    savedAt: '2025-01-01T00:00:00.000Z', package: 'biggan-ts 0.1.0',
  };
  saveCheckpoint(path.join(dir, 'train32.safetensors'), { G, G_ema: G, D, classNames: ['a', 'b', 'c'], metadata: { training: JSON.stringify(training) } });
  const deep = new BigGanDeepGenerator(bigGanDeepConfig(32, { channelWidth: 4, nStats: 1, numClasses: 3 }));
  saveCheckpoint(path.join(dir, 'ours-deep.safetensors'), { G: deep });

  // Foreign configs (the weights they go with are read from the fixtures once per worker).
  fs.copyFileSync(path.join(PT_REF, 'hf-biggan-deep-128-w8', 'config.json'), path.join(dir, 'config.json'));
  fs.copyFileSync(path.join(PT_REF, 'ajbrock-biggan-128-ch10', 'constructor_args.json'), path.join(dir, 'constructor_args.json'));

  // Training data: an npy pair, the .bgd prepared from it, a CIFAR-10 batch, images.
  w('images.npy', formatNpy(arr('uint8', [3, 8, 8, 3], Uint8Array.from({ length: 3 * 8 * 8 * 3 }, (_, i) => (i * 7) & 255))));
  w('labels.npy', formatNpy(arr('int64', [3], BigInt64Array.from([0n, 1n, 1n]))));
  const ds = await openDataset(`${path.join(dir, 'images.npy')}:${path.join(dir, 'labels.npy')}`, { resolution: 8, cache: path.join(dir, 'data.bgd') });
  ds.close();
  const cifar = new Uint8Array(3 * 3073);
  for (let r = 0; r < 3; r++) {
    cifar[r * 3073] = r % 2;
    for (let i = 1; i < 3073; i++) cifar[r * 3073 + i] = (i * 13 + r) & 255;
  }
  w('data_batch_1.bin', cifar);
  w('batches.meta.txt', utf8('cat\ndog\n'));
  const img = sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 200, g: 40, b: 90 } } });
  w('i.png', await img.clone().png().toBuffer());
  w('i.jpg', await img.clone().jpeg({ quality: 80 }).toBuffer());
  w('i.webp', await img.clone().webp({ quality: 80 }).toBuffer());
  w('i-lossless.webp', await img.clone().webp({ lossless: true }).toBuffer());
  w('i-alpha.png', await sharp({ create: { width: 9, height: 7, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } } }).png().toBuffer());
}

// ---------------------------------------------------------------- formats

export const FORMATS: readonly FuzzFormat[] = [
  {
    name: 'npy',
    seeds: ['a.npy', 'b.npy', 'c.npy', 'z.npy'],
    mutators: [npyHeaderMutator, npyHeaderMutator],
    load: (file) => void readNpy(file),
  },
  {
    name: 'npz',
    seeds: ['stats.npz', 'stats-deflated.npz'],
    mutators: [zipField, zipField, (b, rng) => rezipped(b, rng, (name) => name.endsWith('.npy'), npyHeaderMutator)],
    load: (file) => {
      readNpz(file);
      readStatsFile(file);
    },
  },
  {
    name: 'safetensors',
    seeds: ['t.safetensors'],
    mutators: [safetensorsHeaderJson, safetensorsHeaderJson, safetensorsLength],
    load: (file) => void readSafetensors(file),
  },
  {
    name: 'torch-zip',
    seeds: ['D32.pth'],
    mutators: [zipField, (b, rng) => rezipped(b, rng, isDataPkl, pickleLength), (b, rng) => rezipped(b, rng, isDataPkl, (_o, r) => picklesReplaced(r))],
    load: (file) => void readStateDict(file),
  },
  {
    name: 'torch-legacy',
    seeds: ['legacy-subset.bin', 'legacy-empty.bin'],
    mutators: [pickleLength, pickleLength, (_b, rng) => {
      const m = picklesReplaced(rng);
      return { bytes: legacyFile(m.bytes), desc: `legacy main pickle: ${m.desc}` };
    }],
    load: (file) => void readStateDict(file),
  },
  {
    name: 'pickle',
    seeds: ['data.pkl', 'list.pkl'],
    mutators: [pickleLength, pickleLength, (_b, rng) => picklesReplaced(rng)],
    load: (file) => void unpickle(fs.readFileSync(file), { name: file, persistentLoad: (pid) => pid }),
  },
  {
    name: 'checkpoint',
    seeds: ['ours32.safetensors', 'ours-deep.safetensors'],
    mutators: [checkpointMetadata, checkpointMetadata, checkpointMetadata, safetensorsHeaderJson],
    load: (file) => {
      loadGenerator(file);
      if (path.basename(file).startsWith('ours32')) loadDiscriminator(file);
    },
  },
  {
    name: 'train-checkpoint',
    seeds: ['train32.safetensors'],
    mutators: [checkpointMetadata, checkpointMetadata, safetensorsHeaderJson],
    load: (file) => {
      const ck = readTrainingCheckpoint(file);
      parseStoredConfig(ck.meta.config, file);
    },
  },
  {
    name: 'hf-config',
    seeds: ['config.json'],
    mutators: [jsonFileMutator],
    load: (file, _dir, ctx) => {
      const state = cached(ctx, 'hf', () => readStateDict(path.join(PT_REF, 'hf-biggan-deep-128-w8', 'model.safetensors')));
      bigGanDeepFromStateDict(state, readBigGanDeepConfig(file), file);
    },
  },
  {
    name: 'bgp-args',
    seeds: ['constructor_args.json'],
    mutators: [jsonFileMutator],
    load: (file, _dir, ctx) => {
      const ref = path.join(PT_REF, 'ajbrock-biggan-128-ch10');
      const G = cached(ctx, 'bgpG', () => readStateDict(path.join(ref, 'G.safetensors')));
      const D = cached(ctx, 'bgpD', () => readStateDict(path.join(ref, 'D.safetensors')));
      generatorFromStateDict(G, file, { args: file });
      discriminatorFromStateDict(D, file, { args: file });
    },
  },
  {
    name: 'bgd',
    seeds: ['data.bgd'],
    mutators: [bgdHeader, bgdHeader],
    load: (file) => {
      const ds = PreparedDataset.open(file);
      try {
        ds.readImage(0);
        ds.readImage(ds.count - 1);
      } finally {
        ds.close();
      }
    },
  },
  {
    name: 'cifar10',
    seeds: ['data_batch_1.bin'],
    companions: [{ seed: 'batches.meta.txt', as: 'batches.meta.txt' }],
    mutators: [(b, rng) => {
      const out = Uint8Array.from(b);
      const r = rng.int(Math.max(1, Math.floor(b.length / 3073)));
      out[r * 3073] = pick(rng, [2, 9, 10, 255]);
      return { bytes: out, desc: `label of record ${r} = ${out[r * 3073]}` };
    }],
    load: async (_file, dir) => {
      const src = new Cifar10Source(dir);
      try {
        for (let i = 0; i < src.count; i++) src.label(i);
        await src.load(0);
        await src.load(src.count - 1);
      } finally {
        src.close();
      }
    },
  },
  {
    name: 'npy-data',
    seeds: ['images.npy', 'labels.npy'],
    mutators: [npyHeaderMutator],
    load: async (file, dir) => {
      // The mutated file is the images or the labels; the other one is the seed's.
      const images = path.basename(file) === 'images.npy' ? file : path.join(dir, 'images.npy');
      const labels = path.basename(file) === 'labels.npy' ? file : path.join(dir, 'labels.npy');
      const src = new NpySource(`${images}:${labels}`);
      try {
        await src.load(0);
        await src.load(src.count - 1);
      } finally {
        src.close();
      }
    },
    companions: [{ seed: 'images.npy', as: 'images.npy' }, { seed: 'labels.npy', as: 'labels.npy' }],
  },
  {
    name: 'image',
    seeds: ['i.png', 'i.jpg', 'i.webp', 'i-lossless.webp', 'i-alpha.png'],
    mutators: [imageSize, imageSize],
    isCleanError: isCleanImageError,
    load: async (file) => {
      const buf = fs.readFileSync(file);
      await decodeImage(buf, file);
      if (buf[0] === 0x89) readPng(file);
    },
  },
];
