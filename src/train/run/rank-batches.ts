/**
 * One iteration's inputs for this rank: the real images, latents, labels and penalty noise
 * of its micro-batches. The streams are drawn as one process with the config's
 * accumulations draws them (the config holds the whole job's: size × each rank's), and
 * this rank keeps its block of them (distributed/micro-batches.ts); the loader reads this
 * rank's batches and skips the others', so its state stays the one process's. A plain
 * process (rank 0 of 1) keeps everything, which is the single-process run unchanged.
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

  constructor(
    private readonly config: TrainConfig,
    private readonly models: RunModels,
    private readonly loader: BatchLoader,
    private readonly trainer: GanTrainer,
    rank: number,
    size: number,
  ) {
    const c = config;
    this.plan = rankMicroBatches({ size, rank, dSteps: c.dSteps, dAccumulations: c.dAccumulations / size, gAccumulations: c.gAccumulations / size });
    const R = models.G.resolution;
    this.img = 3 * R * R;
    const local = this.plan.d.flat().length;
    this.xReal = new Float32Array(local * c.batch * this.img);
    this.yReal = new BigInt64Array(local * c.batch);
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
    const B = c.batch;
    const mine = this.plan.d.flat();
    // real micro-batches per iteration: every accumulation of every D step takes the next loader batch (as upstream's loader batch)
    const realBatches = c.dSteps * c.dAccumulations;
    for (let k = 0, at = 0; k < realBatches; k++) {
      if (!mine.includes(k)) {
        this.loader.skip();
        continue;
      }
      const b = this.loader.next();
      this.xReal.set(b.images, at * B * this.img);
      // unconditional: every image is of the one class 0 (yReal stays zero)
      if (!c.unconditional) this.yReal.set(b.labels, at * B);
      at++;
    }
    const noise = iterationNoise(this.noiseSpec(), itr);
    const latents = [...mine, ...this.plan.g];
    const penaltyShape = this.trainer.penaltyNoiseShape();
    const penaltyNoise = penaltyShape
      ? iterationPenaltyNoise(c.seed, itr, realBatches, penaltyShape.reduce((a, b) => a * b, 1)).filter((_, k) => mine.includes(k))
      : undefined;
    return {
      xReal: this.xReal, yReal: this.yReal,
      zs: latents.map((k) => noise.zs[k]), yFakes: latents.map((k) => noise.yFakes[k]),
      ...(penaltyNoise ? { penaltyNoise } : {}),
    };
  }
}
