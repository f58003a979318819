/**
 * A data-parallel run's settings. The stored config is the one process's that the job
 * equals: --batch per micro-batch and the job's accumulations (ranks × each rank's
 * --d/g-accumulations), so a checkpoint does not depend on how many ranks wrote it and
 * resumes on any number whose count splits the accumulations (the effective batch, a
 * 'fixed' setting, never changes on resume).
 */
import { UserError } from '../../errors.js';
import { perRankBatch } from '../../distributed/batch-split.js';
import type { GanHyper } from '../gan-hyper.js';
import { hyperOf, type TrainConfig, type TrainFlags } from './config.js';

/** The flags with --d/g-accumulations turned into the job's (fresh run: default 1 per rank). */
export function jobFlags(flags: TrainFlags, size: number, resuming: boolean): TrainFlags {
  if (size === 1) return flags;
  if (flags.graphs === 'single') throw new UserError(`--graphs single cannot train on ${size} ranks: data-parallel training runs the per-step graphs`);
  const job = (k: number | undefined): number | undefined => (k === undefined ? (resuming ? undefined : size) : k * size);
  return { ...flags, dAccumulations: job(flags.dAccumulations), gAccumulations: job(flags.gAccumulations) };
}

/** Checks a config (fresh or stored) can run on `size` ranks; a one-line UserError otherwise. */
export function checkJobConfig(c: TrainConfig, size: number): void {
  if (size === 1) return;
  if (c.graphs === 'single') throw new UserError(`the run uses --graphs single, which cannot train on ${size} ranks`);
  // both act on rank 0's measurements between iterations, which the other ranks do not make
  if (c.sigmaClamp) throw new UserError(`--sigma-clamp / --sigma-clamp-ratio are not supported on ${size} ranks yet`);
  if (c.sigmaReg && 'ratio' in c.sigmaReg) throw new UserError(`--sigma-reg-ratio is not supported on ${size} ranks yet (--sigma-reg is)`);
  perRankBatch(c.dAccumulations, size, "the run's D accumulations (ranks × --d-accumulations)");
  perRankBatch(c.gAccumulations, size, "the run's G accumulations (ranks × --g-accumulations)");
}

/** The trainer's hyper-parameters on one of `size` ranks: its own share of the accumulations. */
export function rankHyper(c: TrainConfig, size: number): GanHyper {
  const h = hyperOf(c);
  return size === 1 ? h : { ...h, numDAccumulations: c.dAccumulations / size, numGAccumulations: c.gAccumulations / size };
}
