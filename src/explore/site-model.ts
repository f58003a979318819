/**
 * model.json of an exported explorer site: what the page needs to know about its generator
 * before downloading it (platform-neutral: written by `biggan export-web`, read by the page).
 */
import { UserError } from '../errors.js';
import type { GeneratorInfo } from '../sample/sample-inputs.js';

export const SITE_MODEL_FORMAT = 'biggan-ts-web-model';
export const SITE_MODEL_VERSION = 1;

export interface SiteModel extends GeneratorInfo {
  format: typeof SITE_MODEL_FORMAT;
  version: number;
  /** The ONNX file beside model.json; its name carries a content hash, so browser caches never serve a stale model. */
  file: string;
  bytes: number;
  sha256: string;
  /** Weights stored in half precision (computation stays float32). */
  fp16: boolean;
  /** What the model was exported from (file name only). */
  source: string;
  /** Which family/layout loaded it (for the page's title). */
  title: string;
  /** BigGAN-deep: rows of per-truncation BN statistics; the page feeds the rows a truncation selects. */
  truncationStatRows?: number;
}

function field<T>(o: Record<string, unknown>, key: string, check: (v: unknown) => boolean, what: string): T {
  if (!check(o[key])) throw new UserError(`model.json: field "${key}" must be ${what}`);
  return o[key] as T;
}

/** Validates a parsed model.json, field by field. */
export function parseSiteModel(json: unknown): SiteModel {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError('model.json is not a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== SITE_MODEL_FORMAT) throw new UserError(`model.json: format must be "${SITE_MODEL_FORMAT}"`);
  if (o.version !== SITE_MODEL_VERSION) throw new UserError(`model.json: version ${String(o.version)} is not supported (this page reads ${SITE_MODEL_VERSION})`);
  const posInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
  const m: SiteModel = {
    format: SITE_MODEL_FORMAT,
    version: SITE_MODEL_VERSION,
    kind: field(o, 'kind', (v) => typeof v === 'string' && /^[a-z][a-z0-9-]*$/.test(v), 'an architecture name'),
    resolution: field(o, 'resolution', posInt, 'a positive integer'),
    zDim: field(o, 'zDim', posInt, 'a positive integer'),
    numClasses: field(o, 'numClasses', posInt, 'a positive integer'),
    usesTruncation: field(o, 'usesTruncation', (v) => typeof v === 'boolean', 'a boolean'),
    file: field(o, 'file', (v) => typeof v === 'string' && /^[\w.-]+\.onnx$/.test(v), 'a file name ending in .onnx'),
    bytes: field(o, 'bytes', posInt, 'a positive integer'),
    sha256: field(o, 'sha256', (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v), 'a hex SHA-256'),
    fp16: field(o, 'fp16', (v) => typeof v === 'boolean', 'a boolean'),
    source: field(o, 'source', (v) => typeof v === 'string', 'a string'),
    title: field(o, 'title', (v) => typeof v === 'string', 'a string'),
  };
  if (m.usesTruncation) m.truncationStatRows = field(o, 'truncationStatRows', (v) => Number.isInteger(v) && (v as number) > 1, 'an integer > 1 (usesTruncation is true)');
  if (o.classNames !== undefined) {
    const names = field<unknown[]>(o, 'classNames', (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'), 'a list of strings');
    if (names.length !== m.numClasses) throw new UserError(`model.json: classNames has ${names.length} names for ${m.numClasses} classes`);
    m.classNames = names as string[];
  }
  return m;
}
