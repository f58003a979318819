/**
 * Summarises onnxruntime profiles (written when BIGGAN_ORT_PROFILE=prefix is set): time per op
 * type, and per convolution / matmul shape (or per shape of one --op) the time and GFLOP/s, so "where does the time go"
 * has a one-command answer.
 *
 *   BIGGAN_ORT_PROFILE=/tmp/prof/d node dist/bench/landscape-worker.js '{...}'
 *   node dist/bench/ort-profile.js /tmp/prof/d_*.json [--runs N] [--top K] [--op Transpose]
 *
 * Times are summed over every run in the file and divided by --runs (default: the number of
 * model_run events), i.e. per run of the session.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}

const dims = (shapes: Record<string, number[]>[] | undefined, i: number): number[] => Object.values(shapes?.[i] ?? {})[0] ?? [];
const prod = (xs: number[]): number => xs.reduce((a, b) => a * b, 1);

/** Multiply-add FLOPs of a node from its recorded shapes (convolutions and matmuls; 0 otherwise). */
function flopsOf(e: ProfileEvent): number {
  const op = e.args?.op_name ?? '';
  const ins = e.args?.input_type_shape;
  const outs = e.args?.output_type_shape;
  if (op === 'Conv' || op === 'FusedConv' || op === 'NchwcConv') {
    const w = dims(ins, 1);
    const y = dims(outs, 0);
    if (w.length !== 4 || y.length < 4) return 0;
    const outElems = prod(y);
    return 2 * outElems * w[1]! * w[2]! * w[3]!;
  }
  if (op === 'ConvTranspose') {
    const x = dims(ins, 0);
    const w = dims(ins, 1);
    return 2 * prod(x) * w[1]! * w[2]! * w[3]!;
  }
  if (op === 'MatMul' || op === 'FusedMatMul' || op === 'Gemm') {
    // K from A's last two axes, [M, K] or (transposed, FusedMatMul / Gemm) [K, M], and M = Y's rows
    const a = dims(ins, 0);
    const y = dims(outs, 0);
    if (a.length < 2 || y.length < 2) return 0;
    return (2 * prod(y) * a[a.length - 2]! * a[a.length - 1]!) / y[y.length - 2]!;
  }
  return 0;
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { runs: { type: 'string' }, op: { type: 'string' }, top: { type: 'string', default: '25' } }, allowPositionals: true });
  const byOp = new Map<string, { ms: number; n: number; flops: number }>();
  const byShape = new Map<string, { ms: number; n: number; flops: number }>();
  let runs = 0;
  for (const file of positionals) {
    const events = JSON.parse(fs.readFileSync(file, 'utf8')) as ProfileEvent[];
    for (const e of events) {
      if (e.cat === 'Session' && e.name === 'model_run') runs++;
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
      const op = e.args?.op_name ?? '?';
      const f = flopsOf(e);
      const a = byOp.get(op) ?? { ms: 0, n: 0, flops: 0 };
      a.ms += e.dur / 1000; a.n++; a.flops += f;
      byOp.set(op, a);
      if (values.op ? op === values.op : f > 0) {
        const key = `${op} ${(e.args?.input_type_shape ?? []).map((s) => `[${Object.values(s)[0]}]`).join(' ')}`;
        const b = byShape.get(key) ?? { ms: 0, n: 0, flops: 0 };
        b.ms += e.dur / 1000; b.n++; b.flops += f;
        byShape.set(key, b);
      }
    }
  }
  const per = values.runs ? Number(values.runs) : Math.max(1, runs);
  const total = [...byOp.values()].reduce((s, a) => s + a.ms, 0);
  console.log(`${positionals.length} file(s), ${runs} run(s); per run: ${(total / per).toFixed(1)} ms in kernels`);
  console.log('\nop | ms/run | share | nodes/run | GFLOP/s');
  for (const [op, a] of [...byOp].sort((x, y) => y[1].ms - x[1].ms)) {
    console.log(`${op} | ${(a.ms / per).toFixed(1)} | ${((100 * a.ms) / total).toFixed(1)} % | ${(a.n / per).toFixed(0)} | ${a.flops ? (a.flops / a.ms / 1e6).toFixed(0) : ''}`);
  }
  console.log('\nshape | ms/run | GFLOP/s');
  for (const [k, b] of [...byShape].sort((x, y) => y[1].ms - x[1].ms).slice(0, Number(values.top))) {
    console.log(`${k} | ${(b.ms / per).toFixed(1)} | ${b.flops ? (b.flops / b.ms / 1e6).toFixed(0) : ''} | ${(b.n / per).toFixed(0)} nodes`);
  }
}

main();
