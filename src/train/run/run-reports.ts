/** What a training run reports: progress after each iteration, the phases between them, and how it ended. */
import type { CollapseSignal } from './collapse-watch.js';

/** The latest evaluation, for the progress line. */
export interface EvalInfo {
  step: number;
  isMean: number;
  isStd: number;
  fid?: number;
}

/**
 * After an iteration. The rates and losses are those of the latest 'train' record of
 * DIR/log.jsonl (means over its --log-every window, at step loggedStep), so the
 * progress line and the log agree; before the first record loggedStep is 0 and they are NaN.
 */
export interface ProgressInfo {
  step: number;
  total: number;
  loggedStep: number;
  itPerS: number;
  /** Real images per second over every rank (itPerS × the job's images per iteration). */
  imagesPerS: number;
  /** Processes training together (1: a plain process; N: `mpiexec -n N`). */
  ranks: number;
  dLossReal: number;
  dLossFake: number;
  gLoss: number;
  /** Seconds of training so far (iterations only, across resumes). */
  elapsed: number;
  /** The latest evaluation so far, if any. */
  eval?: EvalInfo;
}

export interface PhaseInfo {
  /** e.g. 'standing statistics', 'writing checkpoint'. */
  what: string;
  done: number;
  total: number;
  /** The training step it belongs to (0 before training). */
  step: number;
}

export interface CheckpointRef {
  step: number;
  file: string;
}

export type TrainResult =
  | { status: 'completed'; step: number; checkpoint: string; sheet: string }
  | { status: 'interrupted'; step: number; checkpoint: string }
  | { status: 'collapsed'; step: number; signals: CollapseSignal[]; lastHealthy: CheckpointRef | null; rolledBack: boolean; report: string }
  | { status: 'diverged'; step: number; what: string; lastGood: CheckpointRef | null };
