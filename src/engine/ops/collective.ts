/**
 * The sum of a value over every replica of a data-parallel job (cross-replica BatchNorm's
 * statistics). ONNX has no such operator: a graph holding one runs as a SegmentedGraph,
 * cut at each sum, with the sums done between sessions by whatever reduces across
 * replicas (an MPI Allreduce; nothing in a single process). Its gradient is the same sum
 * of the incoming gradients: each replica's loss reaches every replica's input through it.
 */
import { Tensor } from '../graph.js';
import { registerVjp } from '../vjp-registry.js';

export const CROSS_REPLICA_SUM = 'CrossReplicaSum';
/** A domain onnxruntime does not know, so a graph exported uncut fails loudly. */
export const COLLECTIVE_DOMAIN = 'biggan.collective';

export function crossReplicaSum(x: Tensor): Tensor {
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new Error(`crossReplicaSum: ${x} is not a float tensor`);
  return x.graph.addNode(CROSS_REPLICA_SUM, [x], {}, [{ shape: x.shape, dtype: x.dtype }], COLLECTIVE_DOMAIN)[0];
}

registerVjp(CROSS_REPLICA_SUM, (_n, [dy]) => [dy ? crossReplicaSum(dy) : undefined]);
