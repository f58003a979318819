/**
 * Scenarios run by test/mpi-collectives.test.ts under `mpiexec -n N node harness.js --run NAME`:
 * each rank prints one JSON line of what it saw; errors end the rank as the CLI does
 * (one line, exit 1). Runs only with `--run`, so `node --test` over dist/test skips it.
 */
import { UserError } from '../../src/errors.js';
import type { Communicator } from '../../src/distributed/communicator.js';
import { detectLaunch } from '../../src/distributed/launch.js';
import { MpiCommunicator } from '../../src/distributed/mpi-communicator.js';
import { collectiveTimeout, openCommunicator } from '../../src/distributed/open-communicator.js';
import { broadcastFromRoot, checkSameOnAllRanks } from '../../src/distributed/root-state.js';
import { allgather } from '../../src/distributed/allgather.js';
import { SegmentedGraph } from '../../src/engine/segmented-graph.js';
import { bnGraph, globalInputs, maxRelDiff, plainRun, C, H, W } from './bn-graph.js';

/** rank r's value at index i: distinct per rank and index, not exactly representable sums */
export function rankValue(rank: number, i: number): number {
  return Math.sin(i * 0.37 + rank * 1.91) * 10 ** ((i % 7) - 3);
}

function filled<T extends Float32Array | Float64Array>(make: new (n: number) => T, n: number, rank: number): T {
  const a = new make(n);
  for (let i = 0; i < n; i++) a[i] = rankValue(rank, i);
  return a;
}

/** every rank's copy of `a` equals rank 0's, bit for bit */
async function sameEverywhere(comm: Communicator, a: ArrayBufferView): Promise<boolean> {
  try {
    await checkSameOnAllRanks(comm, 'result', new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return true;
  } catch (err) {
    if (err instanceof UserError) return false;
    throw err;
  }
}

/** sum over ranks in rank order, rounded like the buffer's type after each add */
function expectedSum(n: number, size: number, round: (x: number) => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = round(rankValue(0, i));
    for (let r = 1; r < size; r++) s = round(s + round(rankValue(r, i)));
    out[i] = s;
  }
  return out;
}

function mismatches(a: Float32Array | Float64Array, b: Float64Array): number {
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) bad++;
  return bad;
}

async function collectives(): Promise<Record<string, unknown>> {
  const launch = detectLaunch()!;
  // a small chunk limit so one call is cut into several MPI calls
  const comm = MpiCommunicator.open(launch, { timeoutS: collectiveTimeout(process.env), maxCount: 1000 });
  const n = 2500;
  const f32 = filled(Float32Array, n, comm.rank);
  const f64 = filled(Float64Array, n, comm.rank);
  await Promise.all([comm.allreduceSum(f32), comm.allreduceSum(f64)]);
  const result: Record<string, unknown> = {
    rank: comm.rank,
    size: comm.size,
    description: comm.description,
    // two ranks: a + b rounds the same whatever the order, so the sum is exact to the bit
    f32Bad: mismatches(f32, expectedSum(n, comm.size, Math.fround)),
    f64Bad: mismatches(f64, expectedSum(n, comm.size, (x) => x)),
    f32Same: await sameEverywhere(comm, f32),
    f64Same: await sameEverywhere(comm, f64),
  };
  const gathered = await allgather(comm, Float32Array.from([rankValue(comm.rank, 1), rankValue(comm.rank, 2), -0]));
  const wantGathered = Array.from({ length: comm.size }, (_, r) => [Math.fround(rankValue(r, 1)), Math.fround(rankValue(r, 2)), 0]).flat();
  result.allgatherOk = gathered.length === wantGathered.length && gathered.every((v, i) => v === wantGathered[i]);
  const state = new Uint8Array(3001).map((_, i) => (i * 7 + 3) & 255);
  const got = await broadcastFromRoot(comm, comm.rank === 0 ? state : undefined);
  result.bcastOk = got.length === state.length && Buffer.compare(got, state) === 0;
  const before = Date.now();
  if (comm.rank === 0) await new Promise((r) => setTimeout(r, 300));
  await comm.barrier();
  result.barrierWaitMs = Date.now() - before;
  const own = new TextEncoder().encode(`--batch ${comm.rank === 1 ? 32 : 16}`);
  try {
    await checkSameOnAllRanks(comm, 'the training settings', own);
    result.mismatch = 'not detected';
  } catch (err) {
    result.mismatch = err instanceof UserError ? err.message : String(err);
  }
  comm.close();
  return result;
}

/** rank 1 kills itself mid-loop; the others are in collectives */
async function killedRank(): Promise<never> {
  const comm = openCommunicator();
  const buf = new Float32Array(1 << 16);
  for (let i = 0; ; i++) {
    if (comm.rank === 1 && i === 20) process.kill(process.pid, 'SIGKILL');
    await comm.allreduceSum(buf);
  }
}

/** rank 1 stops answering without dying (blocks its thread); rank 0's watchdog must end the job */
async function silentRank(): Promise<never> {
  const comm = openCommunicator();
  const buf = new Float32Array(1024);
  for (let i = 0; ; i++) {
    if (comm.rank === 1 && i === 5) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    await comm.allreduceSum(buf);
  }
}

/** allreduce time for float32 buffers of the given MB (median of `reps`) */
async function bandwidth(): Promise<Record<string, unknown>> {
  const comm = openCommunicator();
  const out: Record<string, unknown> = { rank: comm.rank, size: comm.size, description: comm.description };
  for (const mb of [1, 16, 64]) {
    const buf = new Float32Array((mb * 2 ** 20) / 4).fill(1);
    await comm.allreduceSum(buf);
    const times: number[] = [];
    for (let rep = 0; rep < 9; rep++) {
      await comm.barrier();
      const t = performance.now();
      await comm.allreduceSum(buf);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    out[`${mb}MB`] = { medianMs: times[4], minMs: times[0], maxMs: times[8] };
  }
  comm.close();
  return out;
}

/** cross-replica BN: each rank's slice and the summed parameter gradients against one process over the whole batch */
async function crossReplicaBn(): Promise<Record<string, unknown>> {
  const comm = openCommunicator();
  const per = 3;
  const img = C * H * W;
  const seg = await SegmentedGraph.create(bnGraph(per, comm.size, true));
  const { x, w } = globalInputs(comm.size * per);
  const mine = (a: Float32Array) => a.slice(comm.rank * per * img, (comm.rank + 1) * per * img);
  const got = await seg.run({ x: mine(x), w: mine(w) }, (buf) => comm.allreduceSum(buf));
  const want = await plainRun(comm.size * per);
  const out: Record<string, unknown> = { rank: comm.rank, sessions: seg.sessions };
  for (const k of ['y', 'dx']) out[k] = maxRelDiff(got[k] as Float32Array, mine(want[k] as Float32Array));
  for (const k of ['dgamma', 'dbeta', 'loss']) {
    const summed = got[k] as Float32Array;
    await comm.allreduceSum(summed);
    out[k] = maxRelDiff(summed, want[k] as Float32Array);
  }
  comm.close();
  return out;
}

/** only opens the communicator (launch errors), then closes it */
async function open(): Promise<Record<string, unknown>> {
  const comm = openCommunicator();
  const out = { rank: comm.rank, size: comm.size, description: comm.description };
  comm.close();
  return out;
}

/** one call of each kind, for BIGGAN_MPI_STATS */
async function recorded(): Promise<Record<string, unknown>> {
  const comm = openCommunicator();
  await comm.allreduceSum(new Float32Array(1000));
  await comm.broadcast(new Uint8Array(10));
  await comm.barrier();
  comm.close();
  return { rank: comm.rank };
}

const SCENARIOS: Record<string, () => Promise<unknown>> = { collectives, recorded, 'killed-rank': killedRank, 'silent-rank': silentRank, bandwidth, open, 'cross-replica-bn': crossReplicaBn };

if (process.argv[2] === '--run') {
  const scenario = SCENARIOS[process.argv[3]];
  if (!scenario) throw new Error(`unknown scenario ${process.argv[3]}`);
  scenario().then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: unknown) => {
      if (!(err instanceof UserError)) throw err;
      process.stderr.write(`biggan: error: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
