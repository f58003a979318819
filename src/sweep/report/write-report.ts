/**
 * `biggan sweep report DIR`: the study's views of a sweep's finished trials as one
 * Markdown file with PNG plots beside it (<name>-*.png):
 *
 *   per-setting median and best FID over seeds   (Tables 8-10)
 *   per-setting medians of the other metrics     (KID, IS, precision/recall, density/coverage, iFID: whichever were evaluated)
 *   FID of the top 5 % of settings per variant   (Figures 1-4, box plots)
 *   minimum FID for a budget of k settings       (Figure 1, second row; bootstrap interval)
 *   KID-FID rank correlation, top-K agreement    (Table 3; when KID was evaluated)
 *   FID against each hyper-parameter             (Figure 11, heat maps)
 */
import path from 'node:path';
import { UserError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { writeBoxPlot } from '../../image/box-plot.js';
import { writeHeatMap } from '../../image/heat-map.js';
import { PLOT_PALETTE, writeLinePlot } from '../../image/line-plot.js';
import { readSweepState } from '../runner.js';
import { fidHeatCounts } from './binning.js';
import { modelsOf, settingsSummary, type Model, type SettingSummary } from './collect.js';
import { boxStats, budgetCurve, spearman, topFraction, topKIntersection } from './statistics.js';

const TOP_K = [5, 10, 20, 50, 100];

/** Metrics besides FID that a trial may record, in column order (FID-like ones in FID's units). */
const OTHER_METRICS = ['kid_mean', 'is_mean', 'precision', 'recall', 'density', 'coverage', 'ifid'] as const;
const metricText = (k: string, v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(k === 'ifid' || k === 'is_mean' ? 2 : 4));
const fid = (v: number): string => (v === Infinity ? 'failed' : Number.isNaN(v) ? '–' : v.toFixed(2));
const settingText = (s: SettingSummary['setting']): string => Object.entries(s).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ');

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export interface ReportParts {
  markdown: string;
  /** PNGs to write: file name (beside the report) and a writer. */
  plots: { name: string; write: (file: string) => void }[];
}

/** The report of these models (pure apart from the plots it returns to write). */
export function buildReport(models: readonly Model[], total: number, prefix: string): ReportParts {
  const settings = settingsSummary(models).sort((a, b) => a.medianFid - b.medianFid || a.bestFid - b.bestFid);
  const plots: ReportParts['plots'] = [];
  const md: string[] = ['# Sweep report', ''];
  const failed = models.filter((m) => m.fid === Infinity).length;
  md.push(`${models.length} of ${total} trials finished (${settings.length} settings)${failed ? `; ${failed} without an FID (diverged: counted as +∞)` : ''}.`, '');

  md.push('## FID per setting over seeds (Tables 8-10)', '');
  md.push(table(['rank', 'setting', 'variant', 'seeds', 'median FID', 'best FID'], settings.map((s, i) => [String(i + 1), settingText(s.setting) || '(fixed only)', s.variant, String(s.seeds), fid(s.medianFid), fid(s.bestFid)])), '');

  // the other metrics the sweep evaluated (eval.metrics), one column each; spreads (_std) left to result.json
  const others = OTHER_METRICS.filter((k) => models.some((m) => k in m.metrics));
  if (others.length) {
    md.push('## Other metrics per setting (median over seeds)', '');
    md.push(table(['rank', 'setting', ...others], settings.map((s, i) => [
      String(i + 1), settingText(s.setting) || '(fixed only)', ...others.map((k) => metricText(k, s.medianMetrics[k])),
    ])), '');
  }

  md.push('## FID of the top 5 % of settings per variant (Figures 1-4)', '');
  md.push('Each setting scores its median FID over seeds; the box shows the best 5 % (at least one) of each variant.', '');
  const variants = [...new Set(settings.map((s) => s.variant))];
  const boxes = variants.map((v) => ({ name: v, ...boxStats(topFraction(settings.filter((s) => s.variant === v).map((s) => s.medianFid), 0.05)) }));
  md.push(table(['variant', 'settings in top 5 %', 'min', 'q1', 'median', 'q3', 'max'], boxes.map((b) => [b.name, String(b.n), fid(b.min), fid(b.q1), fid(b.median), fid(b.q3), fid(b.max)])), '');
  plots.push({ name: `${prefix}-top5.png`, write: (f) => writeBoxPlot(f, boxes, { title: 'FID of the top 5 % per variant' }) });
  md.push(`![top 5 %](${prefix}-top5.png)`, '');

  md.push('## Minimum FID for a budget of k settings (Figure 1, second row)', '');
  md.push('Expected best median FID among k settings picked at random (exact), with a 95 % bootstrap interval over the settings (1000 resamples).', '');
  const curves = variants.map((v) => ({ v, curve: budgetCurve(settings.filter((s) => s.variant === v).map((s) => s.medianFid)) }));
  for (const { v, curve } of curves) {
    if (variants.length > 1) md.push(`### ${v}`, '');
    md.push(table(['k', 'expected min FID', '95 % interval'], curve.map((p) => [String(p.k), fid(p.mean), `${fid(p.lo)} – ${fid(p.hi)}`])), '');
  }
  plots.push({
    name: `${prefix}-budget.png`,
    write: (f) => writeLinePlot(f, curves.flatMap(({ v, curve }, i) => [
      // the interval's ends as thin lines in the mean's colour
      { name: variants.length > 1 ? v : 'expected min FID', x: curve.map((p) => p.k), y: curve.map((p) => p.mean), marker: 'circle' as const, color: PLOT_PALETTE[i % PLOT_PALETTE.length] },
      { x: curve.map((p) => p.k), y: curve.map((p) => p.lo), lineWidth: 1, color: PLOT_PALETTE[i % PLOT_PALETTE.length] },
      { x: curve.map((p) => p.k), y: curve.map((p) => p.hi), lineWidth: 1, color: PLOT_PALETTE[i % PLOT_PALETTE.length] },
    ]), { title: 'Minimum FID for a budget of k settings', x: { label: 'budget k (settings)' }, y: { label: 'FID' } }),
  });
  md.push(`![budget](${prefix}-budget.png)`, '');

  const withKid = models.filter((m) => m.kid !== undefined && Number.isFinite(m.kid) && Number.isFinite(m.fid));
  md.push('## KID and FID agreement (Table 3)', '');
  if (withKid.length >= 2) {
    const f = withKid.map((m) => m.fid), k = withKid.map((m) => m.kid!);
    md.push(`Spearman rank correlation of KID and FID over ${withKid.length} models: ${spearman(f, k).toFixed(4)}.`, '');
    const ks = TOP_K.filter((x) => x <= withKid.length);
    if (ks.length) md.push(table(['K', 'models in both top-K by FID and top-K by KID'], ks.map((x) => [String(x), String(topKIntersection(f, k, x))])), '');
  } else {
    md.push('Not available: the sweep did not evaluate KID (eval.metrics with kid) on at least two models.', '');
  }

  md.push('## FID against each hyper-parameter (Figure 11)', '');
  // parameters that vary, once each (gLr and dLr set together show once; a pair's fixed element not at all)
  const column = (p: string): string => JSON.stringify(models.map((m) => m.hyper[p] ?? null));
  const seenColumns = new Set<string>();
  const params = [...new Set(models.flatMap((m) => Object.keys(m.hyper)))].sort().filter((p) => {
    const c = column(p);
    if (new Set(models.map((m) => m.hyper[p])).size < 2 || seenColumns.has(c)) return false;
    seenColumns.add(c);
    return true;
  });
  if (!params.length) md.push('No numeric hyper-parameter was varied.', '');
  for (const p of params) {
    const ms = models.filter((m) => p in m.hyper);
    const h = fidHeatCounts(ms.map((m) => m.fid), ms.map((m) => m.hyper[p]));
    const name = `${prefix}-heat-${p.replace(/[^\w.-]/g, '_')}.png`;
    plots.push({ name, write: (f) => writeHeatMap(f, h.counts, h.rows, h.cols, { title: `FID against ${p}`, rowTitle: 'FID', colTitle: p }) });
    md.push(`### ${p}`, '', 'Models per (FID range, value) cell.', '', `![${p}](${name})`, '');
  }
  return { markdown: md.join('\n'), plots };
}

/** Writes the report of DIR's finished trials to `out` (and its plots beside it); returns the files written. */
export function writeSweepReport(dir: string, out: string): string[] {
  const state = readSweepState(dir);
  const models = modelsOf(state);
  if (models.length === 0) throw new UserError(`${dir}: no finished trials yet (run \`biggan sweep SPEC.json --out ${dir}\`)`);
  const prefix = path.basename(out).replace(/\.md$/i, '');
  const parts = buildReport(models, state.trials.length, prefix);
  const files: string[] = [];
  for (const p of parts.plots) {
    const f = path.join(path.dirname(out), p.name);
    p.write(f);
    files.push(f);
  }
  writeFileAtomic(out, Buffer.from(parts.markdown + '\n'));
  return [out, ...files];
}
