/**
 * The ranks of a data-parallel run (`mpiexec -n N biggan train ...`). Rank 0 opens the
 * run as one process does (run directory, checkpoint, log) and alone writes anything;
 * it then sends the other ranks what they cannot rebuild alike: the resolved config, the
 * loader position, the step counters and every tensor of the training state (weights,
 * buffers, G_ema, Adam moments). Those ranks (ReplicaRun) open the data, build the same
 * networks and trainer, take the state and run iterations in lockstep; after each one
 * rank 0 says whether the run goes on (it alone sees the checkpoints, collapse watch,
 * divergence and stop requests), and the others wait for that without a time limit
 * because rank 0 may be writing a checkpoint or evaluating (a rank that dies is the
 * launcher's to report: it ends the job).
 */
import { UserError } from '../../errors.js';
import type { Param } from '../../engine/graph.js';
import { BatchLoader, type LoaderState } from '../../data/batch-loader.js';
import type { PreparedDataset } from '../../data/prepared-dataset.js';
import type { Communicator } from '../../distributed/communicator.js';
import { broadcastFromRoot, checkSameOnAllRanks } from '../../distributed/root-state.js';
import type { GanTrainer } from '../train-step.js';
import { buildRunModels, type RunModels } from './build-models.js';
import type { TrainConfig } from './config.js';
import { openRunDataset } from './run-data.js';
import { buildTrainer, withRunThreads } from './run-setup.js';
import type { TrainRunOptions } from './run-options.js';
import { RankBatches } from './rank-batches.js';

/** What rank 0 sends after opening the run (or why it could not). */
type RunHeader =
  | { ok: true; config: TrainConfig; loader: LoaderState; step: number; itr: number; gStep: number; dStep: number }
  | { ok: false };

/** The parts of an opened run that rank 0 shares. */
export interface SharedRun {
  config: TrainConfig;
  loader: BatchLoader;
  models: RunModels;
  trainer: GanTrainer;
  step: number;
}

/** Every rank is launched with the same command: a one-line error on all of them otherwise. */
export async function agreeOnSettings(comm: Communicator, opts: TrainRunOptions): Promise<void> {
  const settings = JSON.stringify({ flags: opts.flags, resume: !!opts.resume, out: opts.outDir, threads: opts.runtime?.threads ?? null });
  await checkSameOnAllRanks(comm, 'the training settings', new TextEncoder().encode(settings));
}

/** The training state's tensors, in an order every rank builds alike. */
function stateParams(models: RunModels, trainer: GanTrainer): Param[] {
  return [
    ...[models.G, models.D, ...(models.G_ema ? [models.G_ema] : [])].flatMap((m) => m.namedParams().map(([, p]) => p)),
    ...trainer.gOptim.slotParams(),
    ...trainer.dOptim.slotParams(),
  ];
}

/** Rank 0: sends the opened run to the others (null: it failed to open, and they stop). */
export async function shareRun(comm: Communicator, run: SharedRun | null): Promise<void> {
  const header: RunHeader = run
    ? { ok: true, config: run.config, loader: run.loader.state(), step: run.step, itr: run.trainer.itr, gStep: run.trainer.gOptim.step, dStep: run.trainer.dOptim.step }
    : { ok: false };
  await broadcastFromRoot(comm, new TextEncoder().encode(JSON.stringify(header)), { timeoutS: 0 });
  if (!run) return;
  const params = stateParams(run.models, run.trainer);
  const flat = new Float32Array(params.reduce((n, p) => n + p.data.length, 0));
  let at = 0;
  for (const p of params) {
    flat.set(p.data, at);
    at += p.data.length;
  }
  await broadcastFromRoot(comm, new Uint8Array(flat.buffer));
}

/**
 * Ends the whole job after an error on this rank once the ranks have started working
 * together: the others would otherwise wait for it in a collective (MPI's launcher does not
 * stop them when a rank merely exits non-zero).
 */
export function abortJob(comm: Communicator, err: unknown): never {
  const text = err instanceof UserError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  comm.abort(`biggan: error: rank ${comm.rank} of ${comm.size}: ${text}`, 1);
}

/** What rank 0 says after each iteration. */
export type IterationOutcome = 'continue' | 'ended' | 'interrupted';
const OUTCOMES: readonly IterationOutcome[] = ['continue', 'ended', 'interrupted'];

/** Rank 0, after each iteration: whether the run goes on (every rank learns it; the others pass 'continue'). */
export async function iterationOutcome(comm: Communicator, outcome: IterationOutcome): Promise<IterationOutcome> {
  const code = Uint8Array.of(OUTCOMES.indexOf(outcome));
  // no time limit: rank 0 may be writing a checkpoint or evaluating
  await comm.broadcast(code, 0, { timeoutS: 0 });
  return OUTCOMES[code[0]];
}

/** A rank other than 0: trains in lockstep with rank 0, writes nothing. */
export class ReplicaRun {
  private constructor(
    private readonly comm: Communicator,
    private readonly run: SharedRun,
    private readonly dataset: PreparedDataset,
  ) {}

  static async open(opts: TrainRunOptions): Promise<ReplicaRun> {
    const comm = opts.comm!;
    await agreeOnSettings(comm, opts);
    // no time limit: rank 0 may be preparing the data (minutes for a large folder, the first time)
    const header = JSON.parse(new TextDecoder().decode(await broadcastFromRoot(comm, undefined, { timeoutS: 0 }))) as RunHeader;
    if (!header.ok) throw new UserError(`rank ${comm.rank}: stopped, rank 0 could not open the run (its error says why)`);
    try {
      return await ReplicaRun.build(comm, header, withRunThreads(opts, header.config));
    } catch (err) {
      // rank 0 is waiting for this rank in the state broadcast
      abortJob(comm, err);
    }
  }

  private static async build(comm: Communicator, header: Extract<RunHeader, { ok: true }>, opts: TrainRunOptions): Promise<ReplicaRun> {
    const { config } = header;
    const dataset = await openRunDataset(config, { ...opts, phase: undefined }, () => {});
    try {
      const loader = new BatchLoader(dataset, { batchSize: config.batch, seed: config.seed, flip: config.flip }, header.loader);
      const models = buildRunModels(config, dataset.numClasses, { init: false });
      const trainer = buildTrainer(config, models, opts);
      const params = stateParams(models, trainer);
      const bytes = await broadcastFromRoot(comm);
      const flat = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      let at = 0;
      for (const p of params) {
        p.data = flat.slice(at, at + p.data.length);
        at += p.data.length;
      }
      if (at !== flat.length) throw new Error(`rank ${comm.rank}: rank 0 sent ${flat.length} state values, this rank's networks hold ${at}`);
      trainer.itr = header.itr;
      trainer.gOptim.step = header.gStep;
      trainer.dOptim.step = header.dStep;
      return new ReplicaRun(comm, { config, loader, models, trainer, step: header.step }, dataset);
    } catch (err) {
      dataset.close();
      throw err;
    }
  }

  /** Iterations until rank 0 says the run ends; whether it was interrupted (Ctrl-C: rank 0 wrote a checkpoint). */
  async train(): Promise<{ interrupted: boolean }> {
    const { config, loader, models, trainer } = this.run;
    const batches = new RankBatches(config, models, loader, trainer, this.comm.rank, this.comm.size);
    let step = this.run.step;
    try {
      if (step < config.steps) await trainer.prepare();
      while (step < config.steps) {
        const r = await trainer.iteration(batches.next(step + 1));
        step = r.itr;
        const outcome = await iterationOutcome(this.comm, 'continue');
        if (outcome !== 'continue') return { interrupted: outcome === 'interrupted' };
      }
      return { interrupted: false };
    } catch (err) {
      abortJob(this.comm, err);
    } finally {
      await trainer.release();
      this.dataset.close();
    }
  }
}
