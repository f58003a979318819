/**
 * One iteration's inputs for this rank: the real images, latents, labels and penalty noise
 * of its micro-batches. The streams are drawn as the one process the job equals draws them
 * (the config is that process's: replica-config.ts) and this rank keeps its share: with
 * per-replica BN its block of whole micro-batches (distributed/micro-batches.ts; the loader
 * reads this rank's batches and skips the others', so its state stays the one process's),
 * with cross-replica BN its slice of the rows of every micro-batch (the loader reads them
 * all). A plain process (rank 0 of 1) keeps everything: the single-process run unchanged.
 */
import type { BatchLoader } from '../../data/batch-loader.js';
import { rankMicroBatches, type RankMicroBatches } from '../../distributed/micro-batches.js';
import type { GanTrainer, IterationInputs } from '../train-step.js';
import type { TrainConfig } from './config.js';
import type { RunModels } from './build-models.js';
import { iterationNoise, iterationPenaltyNoise, type NoiseSpec } from './latents.js';

export class RankBatches {
  private readonly plan: RankMicroBatches;
  private readonly xReal: Float32Array;
  private readonly yReal: BigInt64Array;
  private readonly img: number;
  /** rows of each micro-batch this rank keeps: [at × rows, (at + 1) × rows) */
  private readonly rows: number;
  private readonly at: number;

  constructor(
    private readonly config: TrainConfig,
    private readonly models: RunModels,
    private readonly loader: BatchLoader,
    private readonly trainer: GanTrainer,
    rank: number,
    size: number,
  ) {
    const c = config;
    const slices = c.crossReplicaBn && size > 1;
    const blocks = slices ? { size: 1, rank: 0 } : { size, rank };
    this.plan = rankMicroBatches({ ...blocks, dSteps: c.dSteps, dAccumulations: c.dAccumulations / blocks.size, gAccumulations: c.gAccumulations / blocks.size });
    this.rows = slices ? c.batch / size : c.batch;
    this.at = slices ? rank : 0;
    const R = models.G.resolution;
    this.img = 3 * R * R;
    const local = this.plan.d.flat().length;
    this.xReal = new Float32Array(local * this.rows * this.img);
    this.yReal = new BigInt64Array(local * this.rows);
  }

  private noiseSpec(): NoiseSpec {
    const c = this.config;
    return {
      seed: c.seed, batch: c.batch, zDim: this.models.G.zDim, numClasses: this.models.G.numClasses, dSteps: c.dSteps,
      dAccumulations: c.dAccumulations, gAccumulations: c.gAccumulations, latent: c.latent, zStd: c.zStd,
    };
  }

  /** The inputs of iteration `itr` (1-based); reads the loader (every rank's batches, in order). */
  next(itr: number): IterationInputs {
    const c = this.config;
    const B = this.rows;
    const mine = this.plan.d.flat();
    const rowsOf = <T extends Float32Array | BigInt64Array>(a: T, width: number): T => a.subarray(this.at * B * width, (this.at + 1) * B * width) as T;
    // real micro-batches per iteration: every accumulation of every D step takes the next loader batch (as upstream's loader batch)
    const realBatches = c.dSteps * c.dAccumulations;
    for (let k = 0, at = 0; k < realBatches; k++) {
      if (!mine.includes(k)) {
        this.loader.skip();
        continue;
      }
      const b = this.loader.next();
      this.xReal.set(rowsOf(b.images, this.img), at * B * this.img);
      // unconditional: every image is of the one class 0 (yReal stays zero)
      if (!c.unconditional) this.yReal.set(rowsOf(b.labels, 1), at * B);
      at++;
    }
    const noise = iterationNoise(this.noiseSpec(), itr);
    const latents = [...mine, ...this.plan.g];
    const penaltyShape = this.trainer.penaltyNoiseShape();
    // the penalty's noise is per image (shape [rank's batch, ...]): the one process's, sliced
    const perImage = penaltyShape ? penaltyShape.reduce((a, b) => a * b, 1) / B : 0;
    const penaltyNoise = penaltyShape
      ? iterationPenaltyNoise(c.seed, itr, realBatches, perImage * c.batch).filter((_, k) => mine.includes(k)).map((n) => rowsOf(n, perImage))
      : undefined;
    const zDim = this.models.G.zDim;
    return {
      xReal: this.xReal, yReal: this.yReal,
      zs: latents.map((k) => rowsOf(noise.zs[k], zDim)), yFakes: latents.map((k) => rowsOf(noise.yFakes[k], 1)),
      ...(penaltyNoise ? { penaltyNoise } : {}),
    };
  }
}
