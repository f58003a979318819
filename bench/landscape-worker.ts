/**
 * One measured process of the landscape bench (bench/landscape.ts), our side: builds G and D
 * as `biggan train` does (resolveConfig + buildRunModels: the registry's networks and
 * initialisation), a GanTrainer with per-step graphs and the training runtime of train-run.ts
 * (no memory arena), and times `warmup + steps` D steps on random inputs (reals U(-1, 1),
 * z U(-1, 1) as the study draws it, the penalty's U[0, 1) noise). No G_ema: D steps never read it.
 * Prints one JSON line: seconds of each timed step, parameter counts, compile seconds.
 *
 *   node dist/bench/landscape-worker.js '{"arch":"sndcgan","resolution":32,"batch":64,"dNorm":"none","loss":"ns","penalty":"wgan-gp","warmup":1,"steps":3,"threads":2}'
 */
import { architecture } from '../src/models/architectures.js';
import { Rng } from '../src/random/rng.js';
import { GanTrainer } from '../src/train/train-step.js';
import { buildRunModels } from '../src/train/run/build-models.js';
import { hyperOf, resolveConfig, type TrainConfig } from '../src/train/run/config.js';

export interface LandscapeCase {
  arch: TrainConfig['arch'];
  resolution: number;
  batch: number;
  dNorm: TrainConfig['dNorm'];
  loss: NonNullable<TrainConfig['loss']>;
  penalty: NonNullable<TrainConfig['penalty']>;
}

export interface WorkerRequest extends LandscapeCase {
  warmup: number;
  steps: number;
  threads: number;
}

export interface WorkerResult {
  stepSeconds: number[];
  gParams: number;
  dParams: number;
  compileSeconds: number;
}

const count = (m: { namedParams(): [string, { trainable: boolean; data: Float32Array }][] }): number =>
  m.namedParams().reduce((s, [, p]) => s + (p.trainable ? p.data.length : 0), 0);

async function main(): Promise<void> {
  const req = JSON.parse(process.argv[2]!) as WorkerRequest;
  const d = architecture(req.arch, '--arch').defaults(req.resolution);
  const config = resolveConfig({
    arch: req.arch, resolution: req.resolution, batch: req.batch, dNorm: req.dNorm, loss: req.loss, penalty: req.penalty,
    unconditional: true, gCh: d.gCh, dCh: d.dCh, dimZ: d.dimZ, dSteps: 1,
  });
  const { G, D } = buildRunModels(config, 1);
  const trainer = new GanTrainer({ G, D, hyper: hyperOf(config), batch: req.batch, graphs: 'per-step', runtime: { threads: req.threads, memArena: false } });
  const t0 = performance.now();
  await trainer.prepare();
  const compileSeconds = (performance.now() - t0) / 1000;
  const rng = new Rng(1);
  const B = req.batch, R = req.resolution;
  const uniform = (n: number, lo: number, hi: number): Float32Array => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.uniform();
    return a;
  };
  const noiseShape = trainer.penaltyNoiseShape();
  const stepSeconds: number[] = [];
  for (let s = 0; s < req.warmup + req.steps; s++) {
    const inputs = {
      xReal: uniform(B * 3 * R * R, -1, 1),
      yReal: new BigInt64Array(B),
      z: uniform(B * G.zDim, -1, 1),
      yFake: new BigInt64Array(B),
      ...(noiseShape ? { penaltyNoise: uniform(noiseShape.reduce((a, b) => a * b, 1), 0, 1) } : {}),
    };
    const t = performance.now();
    const { result } = await trainer.discriminatorStep(inputs);
    const sec = (performance.now() - t) / 1000;
    if (!Number.isFinite(result.lossReal + result.lossFake)) throw new Error(`D step ${s}: non-finite loss`);
    if (s >= req.warmup) stepSeconds.push(sec);
  }
  await trainer.release();
  const out: WorkerResult = { stepSeconds, gParams: count(G), dParams: count(D), compileSeconds };
  console.log(JSON.stringify(out));
}

await main();
