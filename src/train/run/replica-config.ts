/**
 * A data-parallel run's settings. The stored config is the one process's that the job
 * equals, so a checkpoint does not depend on how many ranks wrote it and resumes on any
 * number of ranks that splits it (the effective batch, a 'fixed' setting, never changes on
 * resume): with per-replica BN (the default) --batch per micro-batch and the job's
 * accumulations (ranks × each rank's --d/g-accumulations), each rank taking whole
 * micro-batches; with --cross-replica-bn the job's batch (ranks × --batch) and the
 * accumulations as given, each rank taking a slice of every micro-batch.
 */
import { UserError } from '../../errors.js';
import { perRankBatch } from '../../distributed/batch-split.js';
import type { GanHyper } from '../gan-hyper.js';
import { hyperOf, resolveConfig, type TrainConfig, type TrainFlags } from './config.js';

/**
 * The flags with the per-rank --batch or --d/g-accumulations turned into the job's (the
 * one process's): per-replica BN scales the accumulations by the ranks (fresh run: 1 per
 * rank by default), cross-replica BN the batch. `stored`: the config resumed from.
 */
export function jobFlags(flags: TrainFlags, size: number, stored: TrainConfig | null): TrainFlags {
  if (size === 1) return flags;
  if (flags.graphs === 'single') throw new UserError(`--graphs single cannot train on ${size} ranks: data-parallel training runs the per-step graphs`);
  const scale = (k: number | undefined, fresh: number | undefined): number | undefined => (k === undefined ? (stored ? undefined : fresh) : k * size);
  if (flags.crossReplicaBn ?? stored?.crossReplicaBn ?? false) {
    // a fresh run without --batch: the default per rank, scaled once it is known (freshJobConfig)
    return { ...flags, batch: scale(flags.batch, undefined) };
  }
  return { ...flags, dAccumulations: scale(flags.dAccumulations, size), gAccumulations: scale(flags.gAccumulations, size) };
}

/** A fresh run's config on `size` ranks (flags from jobFlags). */
export function freshJobConfig(flags: TrainFlags, size: number): TrainConfig {
  const c = resolveConfig(flags);
  if (size === 1 || !c.crossReplicaBn || flags.batch !== undefined) return c;
  // --batch's default is per rank, and --standing-batch's follows the job's batch
  return resolveConfig({ ...flags, batch: c.batch * size });
}

/** Checks a config (fresh or stored) can run on `size` ranks; a one-line UserError otherwise. */
export function checkJobConfig(c: TrainConfig, size: number): void {
  if (size === 1) return;
  if (c.graphs === 'single') throw new UserError(`the run uses --graphs single, which cannot train on ${size} ranks`);
  // both act on rank 0's measurements between iterations, which the other ranks do not make
  if (c.sigmaClamp) throw new UserError(`--sigma-clamp / --sigma-clamp-ratio are not supported on ${size} ranks yet`);
  if (c.sigmaReg && 'ratio' in c.sigmaReg) throw new UserError(`--sigma-reg-ratio is not supported on ${size} ranks yet (--sigma-reg is)`);
  if (c.crossReplicaBn) {
    perRankBatch(c.batch, size, "the run's batch (ranks × --batch, with --cross-replica-bn)");
    return;
  }
  perRankBatch(c.dAccumulations, size, "the run's D accumulations (ranks × --d-accumulations)");
  perRankBatch(c.gAccumulations, size, "the run's G accumulations (ranks × --g-accumulations)");
}

/** How one of `size` ranks trains its share: its batch and hyper-parameters (its accumulations). */
export function rankShare(c: TrainConfig, size: number): { batch: number; hyper: GanHyper; crossReplicaBn: boolean } {
  const hyper = hyperOf(c);
  if (size === 1) return { batch: c.batch, hyper, crossReplicaBn: false };
  if (c.crossReplicaBn) return { batch: c.batch / size, hyper, crossReplicaBn: true };
  return { batch: c.batch, hyper: { ...hyper, numDAccumulations: c.dAccumulations / size, numGAccumulations: c.gAccumulations / size }, crossReplicaBn: false };
}
