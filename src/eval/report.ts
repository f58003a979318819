/**
 * The evaluation report: a JSON record of what was scored and how (so two
 * numbers can be told comparable or not) and a one-line summary for the
 * terminal. Keys are snake_case; files are identified by SHA-256.
 */
import { writeFileAtomic } from '../io/atomic-write.js';
import type { MetricResult } from '../metrics/registry.js';
import { IS_DEFAULT_SEED } from '../metrics/inception-score.js';
import { KID_DEFAULTS } from '../metrics/kid.js';
import type { MetricPlan } from './metric-plan.js';

export interface FileRef {
  file: string;
  sha256: string;
}

export interface EvalReport {
  tool: 'biggan eval';
  created: string;
  mode: 'generator' | 'images';
  /** Images scored (per threshold in a sweep). */
  n: number;
  seed: number | null;
  /** null: no truncation (BigGAN) — BigGAN-deep always has one (default 1). */
  truncation: number | null;
  class_sampling: 'balanced' | 'uniform' | 'unconditional' | null;
  generator?: {
    weights: FileRef;
    config?: FileRef;
    layout: string;
    kind: string;
    resolution: number;
    num_classes: number;
    z_dim: number;
  };
  images?: { path: string; kind: string; count: number; skipped: number; sha256: string };
  inception: {
    weights: string;
    sha256: string;
    /** True for `--inception procedural`: a testing aid, the scores are not comparable with anything published. */
    procedural: boolean;
    pipeline: string;
    batch: number;
  };
  reference: {
    stats?: FileRef & { kind: string; count?: number };
    real?: { path: string; kind: string; count: number; sha256?: string };
  };
  metric_settings: {
    metrics: string[];
    is_splits: number;
    is_shuffle_seed: number;
    kid_subsets: number;
    kid_subset_size: number;
    kid_seed: number;
    fid_sqrtm_eps_policy: string;
  };
  /** Single evaluation: the metric values (is_mean, is_std, fid, kid_mean, kid_std). */
  metrics?: MetricResult;
  /** Truncation sweep: one entry per threshold. */
  sweep?: ({ truncation: number } & MetricResult)[];
  notes: string[];
  elapsed_s: number;
}

export function metricSettings(plan: MetricPlan): EvalReport['metric_settings'] {
  return {
    metrics: [...plan.metrics],
    is_splits: plan.splits,
    is_shuffle_seed: IS_DEFAULT_SEED,
    kid_subsets: plan.kidSubsets,
    kid_subset_size: plan.kidSubsetSize,
    kid_seed: KID_DEFAULTS.seed,
    fid_sqrtm_eps_policy: plan.fidEpsOffset,
  };
}

export function writeReport(file: string, report: EvalReport): void {
  writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`));
}

/** "IS 4.832 ± 0.391  FID 12.345  KID 0.01234 ± 0.00100" for the metrics present. */
export function formatMetrics(m: MetricResult): string {
  const parts: string[] = [];
  if (m.is_mean !== undefined) parts.push(`IS ${m.is_mean.toFixed(3)} ± ${m.is_std!.toFixed(3)}`);
  if (m.fid !== undefined) parts.push(`FID ${m.fid.toFixed(3)}`);
  if (m.kid_mean !== undefined) parts.push(`KID ${m.kid_mean.toFixed(5)} ± ${m.kid_std!.toFixed(5)}`);
  return parts.join('  ');
}
