/**
 * Progress output: plain lines at a bounded interval when stderr is not a terminal (for
 * every long command, training's standing statistics and checkpoints included), the
 * same values as log.jsonl, and a terminal bar that never shows its raw template.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, TEST_CACHE_DIR } from './cli-helpers.js';
import { LineProgress, formatDuration, progressBar } from '../src/cli/progress.js';
import { readRunLog } from '../src/train/run/run-log.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-progress-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('plain progress lines: the first at once, then at most one per interval, and the last; payload filled in', () => {
  let now = 0;
  const lines: string[] = [];
  const p = progressBar(100, 'work', ' | loss {loss}{extra}', { tty: false, intervalSeconds: 10, now: () => now, write: (t) => lines.push(t) });
  assert.ok(p instanceof LineProgress);
  now = 1000;
  p.update(1, { loss: 0.5 });
  for (let k = 2; k < 100; k++) {
    now += 500; // 0.5 s per unit: a line every 20 units
    p.update(k, { loss: k });
  }
  now += 500;
  p.update(100, { loss: 9 });
  p.stop();
  assert.equal(lines.length, 1 + Math.floor((99 * 0.5) / 10) + 1, lines.join(''));
  assert.match(lines[0]!, /^work 1\/100 \(1%\) \| 1s elapsed, ETA - \| loss 0\.5\n$/);
  assert.match(lines[1]!, /^work 21\/100 \(21%\) \| 11s elapsed, ETA 40s \| loss 21\n$/);
  assert.match(lines[lines.length - 1]!, /^work 100\/100 \(100%\) \| 51s elapsed, done \| loss 9\n$/);
  for (const l of lines) assert.doesNotMatch(l, /[{}]/, 'no raw template');
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(75), '1m15s');
});

test('the terminal bar never shows its raw template, before or after the payload arrives', () => {
  let out = '';
  const stream = Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, {
    isTTY: true,
    columns: 200,
    write: (t: string): boolean => ((out += t), true),
  });
  const bar = progressBar(10, 'training', ' | {ips} it/s | G {g}{ev}', { tty: true, stream });
  bar.update(1, { ips: '2.00' }); // g and ev not given yet
  bar.update(2, { g: '0.500' });
  bar.update(2, { ev: ' | standing statistics 3/9' }); // the same count: payload only
  bar.stop();
  assert.match(out, /standing statistics 3\/9/);
  assert.doesNotMatch(out, /ETA (INF|NULL|NF|LL)/, 'a repeated count leaves the ETA alone');
  assert.match(out, /training .*0\/10/); // the first render, before any payload
  assert.match(out, /2\.00 it\/s \| G 0\.500/);
  assert.doesNotMatch(out, /\{(ips|g|ev)\}/);
});

/** Runs the CLI with piped stderr (not a terminal); resolves with stderr and the time each line arrived. */
function spawnPiped(args: string[], env: Record<string, string>): Promise<{ status: number | null; lines: { t: number; text: string }[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, BIGGAN_CACHE_DIR: TEST_CACHE_DIR, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: { t: number; text: string }[] = [];
    let partial = '';
    const t0 = performance.now();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const text of parts) lines.push({ t: (performance.now() - t0) / 1000, text });
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, lines }));
  });
}

test('biggan train with piped stderr: a line at least every interval (standing statistics and checkpoints included), the same values as log.jsonl', async () => {
  const out = path.join(tmp, 'run');
  const interval = 0.3;
  const r = await spawnPiped(
    ['train', '--ch', '4', '--batch', '4', '--dim-z', '16', '--shared-dim', '8', '--threads', '1', '--synthetic-classes', '4', '--synthetic-count', '16',
      '--steps', '30', '--log-every', '4', '--checkpoint-every', '15', '--standing-passes', '600', '--out', out],
    { BIGGAN_PROGRESS_INTERVAL: String(interval) },
  );
  const text = r.lines.map((l) => l.text).join('\n');
  assert.equal(r.status, 0, text);
  assert.doesNotMatch(text, /\{\w+\}/, 'no raw template');
  assert.doesNotMatch(text, /\r|\x1b\[/, 'no terminal redraws in a log');
  const progress = r.lines.filter((l) => l.text.startsWith('training '));
  assert.ok(progress.length >= 3, text);
  // between the first and the last progress line, no gap much over the interval (one iteration or pass may overrun it)
  const gaps = progress.slice(1).map((l, i) => l.t - progress[i]!.t);
  assert.ok(Math.max(...gaps) < interval + 3, `gaps ${gaps.map((g) => g.toFixed(2)).join(', ')}\n${text}`);
  assert.ok(progress.some((l) => / \| standing statistics \d+\/600/.test(l.text)), `the standing-statistics pass reports progress:\n${text}`);

  // each line's values are those of the log's latest train record
  const records = new Map(readRunLog(path.join(out, 'log.jsonl')).filter((x) => x.type === 'train').map((x) => [x.step as number, x]));
  let checked = 0;
  for (const { text: line } of progress) {
    const m = /^training (\d+)\/30 .*\| ([\d.]+) it\/s \| D real ([\d.-]+) fake ([\d.-]+) \| G ([\d.-]+)(?: \(log step (\d+)\))?/.exec(line);
    if (!m) continue;
    const step = Number(m[1]);
    const at = m[6] !== undefined ? Number(m[6]) : step;
    const rec = records.get(at);
    assert.ok(rec, `a train record at step ${at}: ${line}`);
    assert.equal(m[2], (rec.it_per_s as number).toFixed(2), line);
    assert.equal(m[3], (rec.d_loss_real as number).toFixed(3), line);
    assert.equal(m[4], (rec.d_loss_fake as number).toFixed(3), line);
    assert.equal(m[5], (rec.g_loss as number).toFixed(3), line);
    checked++;
  }
  assert.ok(checked >= 2, text);
  assert.match(progress[progress.length - 1]!.text, /^training 30\/30 \(100%\)/);
});

test('fid-stats and eval with piped stderr print progress lines', async () => {
  const images = path.join(tmp, 'images.npy');
  const { writeNpy } = await import('../src/io/npy.js');
  writeNpy(images, { dtype: 'uint8', shape: [12, 16, 16, 3], data: Uint8Array.from({ length: 12 * 16 * 16 * 3 }, (_, i) => (i * 37) % 256) });
  const stats = path.join(tmp, 'stats.npz');
  const env = { BIGGAN_PROGRESS_INTERVAL: '0.01' };
  const s = await spawnPiped(['fid-stats', '--data', images, '--inception', 'procedural', '--batch', '4', '--out', stats], env);
  assert.equal(s.status, 0, s.lines.map((l) => l.text).join('\n'));
  assert.ok(s.lines.some((l) => /^fid-stats 12\/12 \(100%\)/.test(l.text)), s.lines.map((l) => l.text).join('\n'));
  const e = await spawnPiped(['eval', '--images', images, '--stats', stats, '--inception', 'procedural', '--batch', '4', '--splits', '2'], env);
  assert.equal(e.status, 0, e.lines.map((l) => l.text).join('\n'));
  const evalLines = e.lines.filter((l) => /^eval \d+\/12/.test(l.text));
  assert.ok(evalLines.length >= 2 && /^eval 12\/12 \(100%\)/.test(evalLines[evalLines.length - 1]!.text), e.lines.map((l) => l.text).join('\n'));
});
