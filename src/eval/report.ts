/**
 * The evaluation report: a JSON record of what was scored and how (so two
 * numbers can be told comparable or not) and a one-line summary for the
 * terminal. Keys are snake_case; files are identified by SHA-256.
 */
import { writeFileAtomic } from '../io/atomic-write.js';
import { type OptionValue, optionSettingName } from '../metrics/metric-spec.js';
import { type MetricResult, listMetrics } from '../metrics/registry.js';
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
  /**
   * The metrics computed, and every metric's settings (is_splits, is_shuffle_seed,
   * fid_sqrtm_eps_policy, kid_subsets, kid_subset_size, kid_seed, pr_k, dc_k), computed or not.
   */
  metric_settings: { metrics: string[]; [setting: string]: OptionValue | string[] };
  /** Single evaluation: the metric values (is_mean, is_std, fid, kid_mean, kid_std, precision, ...). */
  metrics?: MetricResult;
  /** Truncation sweep: one entry per threshold. */
  sweep?: ({ truncation: number } & MetricResult)[];
  notes: string[];
  elapsed_s: number;
}

export function metricSettings(plan: MetricPlan): EvalReport['metric_settings'] {
  const out: EvalReport['metric_settings'] = { metrics: [...plan.metrics] };
  for (const spec of listMetrics()) {
    for (const o of spec.options) out[o.reportAs] = plan.settings[optionSettingName(o)]!;
    Object.assign(out, spec.fixedSettings);
  }
  return out;
}

export function writeReport(file: string, report: EvalReport): void {
  writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`));
}

/** "IS 4.832 ± 0.391  FID 12.345  KID 0.01234 ± 0.00100" for the metrics present, as each declares its display. */
export function formatMetrics(m: MetricResult): string {
  const parts: string[] = [];
  for (const spec of listMetrics()) {
    for (const item of spec.display) {
      const v = m[item.value];
      if (v === undefined) continue;
      const spread = item.spread !== undefined ? m[item.spread] : undefined;
      parts.push(`${item.label} ${v.toFixed(item.digits)}${spread !== undefined ? ` ± ${spread.toFixed(item.digits)}` : ''}`);
    }
  }
  return parts.join('  ');
}
