/**
 * A scaling estimate on paper (not a measurement): seconds per iteration of data-parallel
 * training on p workers at a fixed global batch, from a per-image compute time and the
 * iteration's collectives over an assumed network.
 *  - compute: perImageSeconds × globalBatch / p + fixedSeconds (every worker computes its share,
 *    and the per-iteration work that does not shrink with the batch; our trainer runs the
 *    Allreduce after the gradient pass, so communication is not overlapped);
 *  - each large Allreduce (the gradients) as a ring: 2(p−1)/p × bytes / bandwidth + 2(p−1) × latency;
 *  - each small Allreduce (cross-replica BN statistics, loss gathers) as recursive doubling,
 *    latency-bound: ceil(log2 p) × latency.
 */
export interface Network {
  label: string;
  /** bytes per second each way per link */
  bytesPerS: number;
  /** seconds per message */
  latencyS: number;
}

export interface IterationCost {
  /** compute seconds of one image of the global batch (a whole iteration's share of it) on one worker */
  perImageSeconds: number;
  globalBatch: number;
  /** compute seconds per iteration on every worker whatever its batch */
  fixedSeconds: number;
  /** the bytes of each large (ring) Allreduce of one iteration */
  ringAllreduceBytes: number[];
  /** how many small (latency-bound) Allreduces one iteration makes */
  smallAllreduces: number;
}

export interface ScalingPoint {
  workers: number;
  computeS: number;
  communicationS: number;
  iterationS: number;
  /** scaling efficiency: one worker's time / (p × the time on p) */
  efficiency: number;
}

export function ringAllreduceSeconds(bytes: number, workers: number, net: Network): number {
  if (workers === 1) return 0;
  return ((2 * (workers - 1)) / workers) * (bytes / net.bytesPerS) + 2 * (workers - 1) * net.latencyS;
}

export function smallAllreduceSeconds(workers: number, net: Network): number {
  return workers === 1 ? 0 : Math.ceil(Math.log2(workers)) * net.latencyS;
}

export function scalingPoint(cost: IterationCost, workers: number, net: Network): ScalingPoint {
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
  const computeS = (cost.perImageSeconds * cost.globalBatch) / workers + cost.fixedSeconds;
  const oneWorkerS = cost.perImageSeconds * cost.globalBatch + cost.fixedSeconds;
  const communicationS =
    cost.ringAllreduceBytes.reduce((s, b) => s + ringAllreduceSeconds(b, workers, net), 0) + cost.smallAllreduces * smallAllreduceSeconds(workers, net);
  const iterationS = computeS + communicationS;
  return { workers, computeS, communicationS, iterationS, efficiency: oneWorkerS / (workers * iterationS) };
}
