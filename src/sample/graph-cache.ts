/**
 * On-disk cache of onnxruntime-optimized generator graphs. Building a session means
 * reading the weights, encoding the graph and letting onnxruntime fold spectral norm and
 * fuse layers: about a second for BigGAN-deep-128. The optimized model it saves loads in
 * a fraction of that without touching the original weights, so repeated `biggan sample`
 * runs start fast and use less memory (ENGINE-NOTES: ~0.1 s and ~110 MB per start on the
 * export alone; more here because the weights are never parsed in JavaScript).
 *
 * An entry is the optimized graph (KEY.ort.onnx) plus its weights in a side file that
 * sessions map instead of parsing (named in the entry's KEY.json).
 *
 * An entry is keyed by everything that shapes the graph: the weights file (real path,
 * size, mtime, inode), the config file's bytes, batch size, this package's and
 * onnxruntime's versions, and the CPU (optimized models use CPU-specific kernels).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readFileForUser } from '../io/read-file.js';
import type { GeneratorInfo } from './sample-inputs.js';
import { cacheRoot } from '../cache-dir.js';

export type { GeneratorInfo };

export interface CacheEntry {
  modelPath: string;
  /** The side file holding the model's initializers (a name in the cache folder). */
  dataFile: string;
  io: { inputs: { name: string; shape: number[]; dtype: 'float32' | 'float64' | 'int64' | 'bool' }[]; outputs: { name: string; shape: number[]; dtype: 'float32' | 'float64' | 'int64' | 'bool' }[] };
}

const GRAPH_VERSION = '5'; // bump when generator graphs change shape or semantics
const KEEP_ENTRIES = 6;

export function defaultCacheDir(): string {
  return cacheRoot();
}

function fileIdentity(file: string): string {
  const real = fs.realpathSync(file);
  const st = fs.statSync(real);
  return `${real}|${st.size}|${st.mtimeMs}|${st.ino}`;
}

/** Identifies a generator: its weights file and config (what its GeneratorInfo depends on). */
export function modelKey(weights: string, config: string | undefined, packageVersion: string): string {
  const h = crypto.createHash('sha256');
  h.update(`graph ${GRAPH_VERSION}\npkg ${packageVersion}\nweights ${fileIdentity(weights)}\n`);
  // without an explicit config, the loaders look beside the weights: those files count too
  const configs = config ? [config] : ['config.json', 'constructor_args.json'].map((f) => path.join(path.dirname(weights), f)).filter((f) => fs.existsSync(f));
  for (const c of configs) h.update(`config ${path.basename(c)}\n`).update(readFileForUser(c));
  return h.digest('hex').slice(0, 32);
}

/** Identifies one optimized graph of that generator. */
export function graphKey(model: string, batch: number, ortVersion: string): string {
  const h = crypto.createHash('sha256');
  h.update(`${model}\nort ${ortVersion}\ncpu ${os.cpus()[0]?.model ?? ''} ${os.arch()}\nbatch ${batch}\n`);
  return h.digest('hex').slice(0, 32);
}

export class GraphCache {
  constructor(readonly dir: string = defaultCacheDir()) {}

  private paths(key: string): { model: string; meta: string } {
    return { model: path.join(this.dir, `${key}.ort.onnx`), meta: path.join(this.dir, `${key}.json`) };
  }

  lookupInfo(model: string): GeneratorInfo | null {
    const file = path.join(this.dir, `${model}.info.json`);
    try {
      return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as GeneratorInfo) : null;
    } catch {
      return null;
    }
  }

  storeInfo(model: string, info: GeneratorInfo): void {
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(path.join(this.dir, `${model}.info.json`), Buffer.from(JSON.stringify(info)));
  }

  lookup(key: string): CacheEntry | null {
    const p = this.paths(key);
    const meta = this.readMeta(key);
    if (!meta || !fs.existsSync(p.model) || !fs.existsSync(path.join(this.dir, meta.dataFile))) return null;
    const now = new Date();
    fs.utimesSync(p.meta, now, now); // recency for eviction
    return { modelPath: p.model, ...meta };
  }

  private readMeta(key: string): Omit<CacheEntry, 'modelPath'> | null {
    try {
      const meta = JSON.parse(fs.readFileSync(this.paths(key).meta, 'utf8')) as Omit<CacheEntry, 'modelPath'>;
      return typeof meta.dataFile === 'string' && path.basename(meta.dataFile) === meta.dataFile ? meta : null;
    } catch {
      return null; // a missing or damaged entry is rebuilt
    }
  }

  /**
   * Where onnxruntime should write the optimized model for `key` (moved into place by commit)
   * and the name of its weights file. The model refers to that name, so it is final from the
   * start, and unique per writer so concurrent fills of one key never share a file.
   */
  staging(key: string): { model: string; dataFile: string } {
    fs.mkdirSync(this.dir, { recursive: true });
    const unique = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    return { model: path.join(this.dir, `.${key}.${unique}.staging.onnx`), dataFile: `${key}.${unique}.weights` };
  }

  commit(key: string, staged: { model: string; dataFile: string }, meta: Omit<CacheEntry, 'modelPath' | 'dataFile'>): void {
    const p = this.paths(key);
    const previous = this.readMeta(key);
    fs.renameSync(staged.model, p.model);
    writeFileAtomic(p.meta, Buffer.from(JSON.stringify({ ...meta, dataFile: staged.dataFile })));
    // a replaced entry's weights (a running session may still map them: unlinking is safe)
    if (previous && previous.dataFile !== staged.dataFile) fs.rmSync(path.join(this.dir, previous.dataFile), { force: true });
    this.evict();
  }

  discard(staged: { model: string; dataFile: string }): void {
    fs.rmSync(staged.model, { force: true });
    fs.rmSync(path.join(this.dir, staged.dataFile), { force: true });
  }

  /**
   * Keeps the KEEP_ENTRIES most recently used entries, and removes files no entry refers to
   * (left by a process killed while filling the cache) once they are an hour old.
   */
  private evict(): void {
    const metas = fs
      .readdirSync(this.dir)
      .filter((f) => f.endsWith('.json') && !f.endsWith('.info.json'))
      .map((f) => ({ f, t: fs.statSync(path.join(this.dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of metas.slice(KEEP_ENTRIES)) {
      const key = f.slice(0, -'.json'.length);
      fs.rmSync(path.join(this.dir, f), { force: true });
      fs.rmSync(path.join(this.dir, `${key}.ort.onnx`), { force: true });
    }
    const referenced = new Set(metas.slice(0, KEEP_ENTRIES).map(({ f }) => this.readMeta(f.slice(0, -'.json'.length))?.dataFile));
    const hourAgo = Date.now() - 3600_000;
    for (const f of fs.readdirSync(this.dir)) {
      const orphan = (f.endsWith('.weights') && !referenced.has(f)) || f.endsWith('.staging.onnx');
      if (orphan && fs.statSync(path.join(this.dir, f)).mtimeMs < hourAgo) fs.rmSync(path.join(this.dir, f), { force: true });
    }
  }
}
