/**
 * A run's checkpoints as it goes: each one written to DIR/checkpoints, promoted to
 * DIR/checkpoint.safetensors atomically and logged; the newest --keep-checkpoints kept,
 * plus the newest one old enough that a collapse still undetected cannot have begun after it.
 */
import { UserError } from '../../errors.js';
import type { TrainConfig } from './config.js';
import type { RunModels } from './build-models.js';
import type { RunDir } from './run-dir.js';
import type { RunLog } from './run-log.js';
import type { CheckpointRef } from './run-reports.js';
import { readTrainingCheckpoint, writeTrainingCheckpoint, type TrainingSnapshot } from './train-checkpoint.js';

/** Refuses to checkpoint weights holding NaN or Inf (the last good checkpoint is kept). */
export function checkFinite(models: RunModels, step: number): void {
  for (const m of [models.G, models.D, models.G_ema]) {
    const bad = m.namedParams().find(([, p]) => !p.data.every(Number.isFinite));
    if (bad) throw new UserError(`${bad[0]} holds NaN or Inf at step ${step}; not writing a checkpoint (the last good one is kept)`);
  }
}

export class RunCheckpoints {
  constructor(
    private readonly dir: RunDir,
    private readonly log: RunLog,
    private readonly config: TrainConfig,
    /** Step checkpoints written so far (on resume: those at or before its step). */
    private readonly written: CheckpointRef[],
  ) {}

  /** Writes the checkpoint of `step` (`startedAt`: performance.now() when the checkpoint began, for the log). */
  write(step: number, snapshot: TrainingSnapshot, phase: (what: string, done: number, total: number) => void, startedAt: number): void {
    const file = this.dir.stepCheckpoint(step);
    const c = this.config;
    phase('writing checkpoint', 0, 1);
    writeTrainingCheckpoint(file, snapshot);
    this.dir.promote(file);
    phase('writing checkpoint', 1, 1);
    this.written.push({ step, file });
    // keep the newest K, plus the newest one older than any collapse still undetected
    const lag = Math.max(c.svEvery * c.collapse.sigmaWindow, c.sampleEvery, c.collapse.dLossWindow);
    const settled = [...this.written].reverse().find((x) => x.step <= step - lag);
    const pinned = new Set([file, ...(settled ? [settled.file] : [])]);
    this.dir.prune(c.keepCheckpoints, pinned);
    this.log.write({ type: 'checkpoint', step, file: this.dir.relative(file), healthy: snapshot.meta.healthy, seconds: (performance.now() - startedAt) / 1000 });
  }

  /** DIR/checkpoint.safetensors and its step, if there is one. */
  latest(): CheckpointRef | null {
    if (!this.dir.hasCheckpoint()) return null;
    return { step: readTrainingCheckpoint(this.dir.checkpoint).meta.step, file: this.dir.checkpoint };
  }
}
