/**
 * FLOPs of our graphs: 2 x the multiply-accumulates of every Conv, ConvTranspose, MatMul
 * and Gemm node needed for the outputs (every tensor has a static shape). Elementwise
 * ops, norms and reductions are not counted, so GFLOP/s figures are a slight undercount.
 *
 * Two counts per workload: `model`, the network as written (upsample then conv, conv then
 * pool: what PyTorch executes, so both sides' rates compare the same work), and `executed`,
 * what our graphs run (those convolutions at low resolution, fewer FLOPs): the share of the
 * machine's ceiling that our side reaches is computed from the executed count.
 */
import { Graph, Node, Tensor } from '../src/engine/graph.js';
import { withPlainResampling } from '../src/engine/ops/conv.js';
import { liveNodes } from '../src/engine/onnx-export.js';
import { evalContext } from '../src/nn/module.js';
import type { GeneratorModel } from '../src/models/interfaces.js';
import { InceptionV3, INCEPTION_INPUT_SIZE } from '../src/metrics/inception/inception-v3.js';
import { StageBuilder } from '../src/train/stage-builder.js';
import { buildIterationGraph } from '../src/train/iteration-graph.js';
import { GanTrainer } from '../src/train/train-step.js';
import { buildRunModels } from '../src/train/run/build-models.js';
import { hyperOf, resolveConfig, TrainFlags } from '../src/train/run/config.js';

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

function nodeFlops(n: Node): number {
  const [x, w] = n.inputs;
  switch (n.op) {
    case 'Conv': // out [N, O, Ho, Wo], weight [O, C/g, kh, kw]
      return 2 * prod(n.outputs[0].shape) * prod(w.shape.slice(1));
    case 'ConvTranspose': // in [N, C, H, W], weight [C, O/g, kh, kw]: every input value meets O/g x kh x kw weights
      return 2 * prod(x.shape) * prod(w.shape.slice(1));
    case 'MatMul': // out [..., m, n], reduction over a's last axis
      return 2 * prod(n.outputs[0].shape) * x.shape[x.shape.length - 1];
    case 'Gemm': {
      const k = (n.attrs.transA as number | undefined) ? x.shape[0] : x.shape[1];
      return 2 * prod(n.outputs[0].shape) * k;
    }
    default:
      return 0;
  }
}

/** FLOPs of the nodes that compute `outputs`. */
export function graphFlops(g: Graph, outputs: Tensor[]): number {
  return liveNodes(g, outputs).reduce((s, n) => s + nodeFlops(n), 0);
}

export interface Flops {
  /** The network as written (what PyTorch executes). */
  model: number;
  /** What our graph executes. */
  executed: number;
}

/** Counts a graph-building function both ways. */
function bothCounts(count: () => number): Flops {
  return { model: withPlainResampling(count), executed: count() };
}

/** One image of the generator as sampling runs it (the graph generatorGraph exports, at batch `batch`). */
export function generatorFlopsPerImage(model: GeneratorModel, batch = 8): Flops {
  return bothCounts(() => generatorGraphFlops(model, batch) / batch);
}

function generatorGraphFlops(model: GeneratorModel, batch: number): number {
  const g = new Graph();
  const z = g.input('z', [batch, model.zDim]);
  const classVector = g.input('class_vector', [batch, model.numClasses]);
  const truncation = model.usesTruncation ? g.input('truncation', [1], 'float64') : undefined;
  const image = model.forward(evalContext(), { z, classes: { vector: classVector }, truncation });
  return graphFlops(g, [image]);
}

/** One 299x299 image through the FID Inception-v3, pool3 and the unbiased logits (what the bench computes). */
export function inceptionFlopsPerImage(batch = 16): number {
  const g = new Graph();
  const x = g.input('x', [batch, 3, INCEPTION_INPUT_SIZE, INCEPTION_INPUT_SIZE]);
  const y = new InceptionV3().forward(x);
  return graphFlops(g, [y.pool3, y.logitsUnbiased]) / batch;
}

/**
 * Builds one training stage graph as the trainer does and counts it: StageBuilder.finish
 * is wrapped for the duration to see the stage's graph and outputs (the layout it
 * returns holds only the exported bytes).
 */
function stageFlops(build: () => unknown): number {
  const proto = StageBuilder.prototype;
  const finish = proto.finish;
  let flops = NaN;
  proto.finish = function (this: StageBuilder, doc: string) {
    const layout = finish.call(this, doc);
    flops = graphFlops(this.g, Object.values((this as unknown as { outputs: Record<string, Tensor> }).outputs));
    return layout;
  };
  try {
    build();
  } finally {
    proto.finish = finish;
  }
  return flops;
}

export interface IterationFlops {
  dStep: Flops;
  gStep: Flops;
  /** numDSteps D steps + the G step. */
  iteration: Flops;
  /** Trainable parameters of G and D (to check that the other side built the same networks). */
  gParams: number;
  dParams: number;
}

/**
 * FLOPs of one iteration of `biggan train` with these flags, from the per-step graphs the
 * trainer compiles (the default): the D-step graph (G forward for the fakes, D forward and
 * backward on fakes and reals, Adam) and the G-step graph (G and D forward, backward through
 * D to its input and through G, ortho term, Adam, EMA).
 */
export function trainingIterationFlops(flags: TrainFlags, numClasses: number): IterationFlops {
  const c = resolveConfig(flags);
  const { G, D, G_ema } = buildRunModels(c, numClasses, { init: false });
  const trainer = new GanTrainer({ G, D, G_ema, hyper: hyperOf(c), batch: c.batch, graphs: 'per-step' });
  // the trainer's own network bundle (ortho targets, Adam states, EMA copy)
  const nets = trainer.trainNetworks();
  const dStep = bothCounts(() => stageFlops(() => buildIterationGraph(nets, { dSteps: 1, gStep: false, trace: false })));
  const gStep = bothCounts(() => stageFlops(() => buildIterationGraph(nets, { dSteps: 0, gStep: true, trace: false })));
  const trainable = (m: typeof G | typeof D): number => m.namedParams().reduce((n, [, p]) => n + (p.trainable ? p.data.length : 0), 0);
  const iteration = { model: c.dSteps * dStep.model + gStep.model, executed: c.dSteps * dStep.executed + gStep.executed };
  return { dStep, gStep, iteration, gParams: trainable(G), dParams: trainable(D) };
}
