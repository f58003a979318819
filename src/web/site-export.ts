/**
 * The explorer as a static site (`biggan export-web`, `biggan explore`): the built app
 * (dist/web/explorer: index.html, app.js, onnxruntime-web under ort/), the generator as ONNX
 * (batch 1; BigGAN-deep takes the BN statistics rows its truncation selects as inputs, computed by
 * the page with nn/stat-row-selection.ts) and model.json describing it.
 *
 * The ONNX file is the `biggan export-onnx` graph after onnxruntime's 'basic' optimizations
 * (constant folding: spectral norm's W/sigma, fused scale/shift): standard ONNX operators only,
 * so onnxruntime-web runs it on WebAssembly or WebGPU, and the page's session creation does not
 * redo the folding.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UserError } from '../errors.js';
import { loadGenerator } from '../models/checkpoint.js';
import { generatorGraph, generatorInfo } from '../sample/sampler.js';
import { parseSiteModel, SITE_MODEL_FORMAT, SITE_MODEL_VERSION, type SiteModel } from '../explore/site-model.js';
import { halfPrecisionWeights } from './fp16-weights.js';
import { webAppDir } from './static-server.js';

export interface SiteExportOptions {
  weights: string;
  config?: string;
  out: string;
  fp16?: boolean;
}

export interface ExportedSite {
  dir: string;
  model: SiteModel;
}

const TITLES: Record<string, string> = {
  'pytorch-pretrained-BigGAN': 'BigGAN-deep',
  'BigGAN-PyTorch': 'BigGAN',
};

/** The site's ONNX model bytes and what model.json says about them. */
export async function siteModel(opts: Omit<SiteExportOptions, 'out'>): Promise<{ bytes: Uint8Array; model: SiteModel }> {
  const loaded = loadGenerator(opts.weights, opts.config);
  // an unconditional model stores no class names
  const names = loaded.classNames?.length === loaded.model.numClasses ? loaded.classNames : undefined;
  const info = generatorInfo(loaded.model, names);
  const exported = await generatorGraph(loaded.model, { batch: 1, statRowInputs: true });
  let bytes = await foldConstants(exported.bytes);
  if (opts.fp16) bytes = halfPrecisionWeights(bytes).bytes;
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  const model: SiteModel = {
    format: SITE_MODEL_FORMAT,
    version: SITE_MODEL_VERSION,
    ...info,
    ...(loaded.model.truncationStatRows ? { truncationStatRows: loaded.model.truncationStatRows } : {}),
    file: `generator-${sha256.slice(0, 12)}.onnx`,
    bytes: bytes.length,
    sha256,
    fp16: !!opts.fp16,
    source: path.basename(opts.weights),
    title: loaded.layout === 'biggan-ts'
      ? `${info.kind} ${info.resolution}×${info.resolution}${info.numClasses === 1 ? ', unconditional' : ''} (biggan-ts checkpoint)`
      : `${TITLES[loaded.layout] ?? loaded.layout} ${info.resolution}×${info.resolution}`,
  };
  return { bytes, model };
}

/** onnxruntime's portable ('basic') graph rewrites, saved as a model file. */
async function foldConstants(bytes: Uint8Array): Promise<Uint8Array> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-web-'));
  try {
    const file = path.join(tmp, 'folded.onnx');
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'basic', optimizedModelFilePath: file, executionProviders: ['cpu'] });
    await session.release();
    return new Uint8Array(fs.readFileSync(file));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Is `dir` safe to replace: missing, empty, or a site we exported before? Anything else is the user's. */
function replaceableSite(dir: string): boolean {
  if (!fs.existsSync(dir)) return true;
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`--out ${dir} exists and is not a folder`);
  const entries = fs.readdirSync(dir);
  if (entries.length === 0) return true;
  try {
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')) as { format?: unknown };
    return json.format === SITE_MODEL_FORMAT;
  } catch {
    return false;
  }
}

function copyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    if (e.name.endsWith('.map')) continue; // source maps: not needed by users of the site
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) copyTree(src, dst);
    else fs.copyFileSync(src, dst);
  }
}

/**
 * Writes the site into `out`, all or nothing: it is assembled in a sibling folder and moved into
 * place; a previous export there is replaced, any other non-empty folder is refused.
 */
export async function exportSite(opts: SiteExportOptions): Promise<ExportedSite> {
  const out = path.resolve(opts.out);
  if (!replaceableSite(out)) throw new UserError(`--out ${opts.out} is a non-empty folder that is not an exported site; give a new or empty folder`);
  const app = await webAppDir('explorer');
  const { bytes, model } = await siteModel(opts);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const staging = fs.mkdtempSync(path.join(path.dirname(out), `.${path.basename(out)}.partial-`));
  fs.chmodSync(staging, 0o755); // mkdtemp makes it private; a web host's server must read it
  try {
    copyTree(app, staging);
    fs.writeFileSync(path.join(staging, model.file), bytes);
    fs.writeFileSync(path.join(staging, 'model.json'), JSON.stringify(model) + '\n');
    if (fs.existsSync(out)) {
      const old = `${staging}.old`;
      fs.renameSync(out, old);
      fs.renameSync(staging, out);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(staging, out);
    }
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return { dir: out, model };
}

/**
 * The model files of a site for `biggan explore`, built once per weights file and kept in the
 * user cache directory (keyed like the sampling graph cache: weights identity, config bytes,
 * package version), so a second `explore` of the same weights starts at once.
 */
export async function cachedSiteModel(opts: Omit<SiteExportOptions, 'out'>, cacheDir: string, key: string): Promise<{ dir: string; model: SiteModel }> {
  const dir = path.join(cacheDir, `${key}${opts.fp16 ? '-fp16' : ''}`);
  try {
    const model = parseSiteModel(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')));
    if (fs.statSync(path.join(dir, model.file)).size === model.bytes) return { dir, model };
  } catch {
    // not there (or damaged): build it
  }
  const { bytes, model } = await siteModel(opts);
  fs.mkdirSync(cacheDir, { recursive: true });
  const staging = fs.mkdtempSync(`${dir}.partial-`);
  fs.writeFileSync(path.join(staging, model.file), bytes);
  fs.writeFileSync(path.join(staging, 'model.json'), JSON.stringify(model) + '\n');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(staging, dir);
  return { dir, model };
}
