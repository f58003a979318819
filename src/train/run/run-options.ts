/** What a training run is opened with: the flags given, the run directory, data preparation, callbacks and periodic evaluation. */
import type { RuntimeOptions } from '../../engine/runtime.js';
import type { TrainFlags } from './config.js';
import type { PhaseInfo, ProgressInfo } from './run-reports.js';
import type { Communicator } from '../../distributed/communicator.js';

export interface TrainRunOptions {
  /** Flags the user gave (undefined fields: defaults, or the saved config on resume). */
  flags: TrainFlags;
  outDir: string;
  /** Continue from DIR/checkpoint.safetensors (an error when there is none). */
  resume?: boolean;
  /** Data preparation: leave out unreadable images; explicit cache file/folder. */
  skipBad?: boolean;
  cache?: string;
  runtime?: RuntimeOptions;
  /** One-line notes for the user. */
  note?: (line: string) => void;
  /** Called after every iteration. */
  progress?: (p: ProgressInfo) => void;
  /**
   * Called during the long parts outside iterations (data preparation, graph compilation,
   * standing statistics, checkpoint writing, sample sheets, evaluation): at the start
   * (done 0), as it goes, and at the end (done === total).
   */
  phase?: (p: PhaseInfo) => void;
  /** Testing hook: poison D's weights before this iteration, as a diverging run would. */
  faultNanAtStep?: number;
  /** Periodic IS/FID of G_ema (not part of the run's config: give it again on --resume). */
  eval?: TrainEvalOptions;
  /** The ranks of a data-parallel job (absent or size 1: a plain process). */
  comm?: Communicator;
}

/** `biggan train --stats S --inception F --eval-every K --eval-n N --eval-truncation T`. */
export interface TrainEvalOptions {
  /** Reference statistics (.npz, from `biggan fid-stats`): FID besides IS. */
  stats?: string;
  /** Inception weights file or 'procedural' (default $BIGGAN_INCEPTION). */
  inception?: string;
  /** Iterations between evaluations (default: --checkpoint-every); the last iteration is always evaluated. */
  every?: number;
  /** Images per evaluation (default 5000). */
  n?: number;
  truncation?: number;
}
