/**
 * What a run does when the collapse watch raises signals: name the last healthy
 * checkpoint (the newest kept one from before the earliest onset), with
 * --collapse-action rollback make it DIR/checkpoint.safetensors again, write
 * DIR/collapse.txt and a 'collapse' log record, and say how to go on.
 */
import fs from 'node:fs';
import type { CollapseSignal } from './collapse-watch.js';
import type { CollapseAction } from './config.js';
import type { RunDir } from './run-dir.js';
import type { RunLog } from './run-log.js';
import type { TrainResult } from './run-reports.js';

export function respondToCollapse(dir: RunDir, log: RunLog, action: CollapseAction, step: number, signals: CollapseSignal[]): TrainResult {
  const onset = Math.min(...signals.map((s) => s.onset));
  const candidates = dir.stepCheckpoints().filter((x) => x.step <= onset);
  const best = candidates[candidates.length - 1] ?? null;
  let rolledBack = false;
  if (best && action === 'rollback') {
    dir.promote(best.file);
    rolledBack = true;
  }
  const lines = [
    `collapse detected at step ${step}:`,
    ...signals.map((s) => `  - ${s.kind}: ${s.detail}`),
    best
      ? `last healthy checkpoint: ${best.file} (step ${best.step})${rolledBack ? ' — now DIR/checkpoint.safetensors again' : ''}`
      : `no checkpoint from before step ${onset} is kept; raise --keep-checkpoints or checkpoint more often`,
    rolledBack
      ? `to continue from it: biggan train --out ${dir.root} --resume (e.g. with lower learning rates)`
      : best
        ? `to sample it: biggan sample --weights ${best.file} --out samples.png`
        : '',
  ].filter(Boolean);
  const report = lines.join('\n');
  fs.writeFileSync(dir.collapseReport, report + '\n');
  log.write({
    type: 'collapse',
    step,
    signals,
    last_healthy: best ? { step: best.step, file: dir.relative(best.file) } : null,
    action,
    rolled_back: rolledBack,
  });
  return { status: 'collapsed', step, signals, lastHealthy: best, rolledBack, report };
}
