/**
 * The dashboard's server side without a browser: following a log that is being appended to (torn
 * last lines held back, bad lines skipped, a replaced log read again from the top), what
 * `biggan dashboard` accepts as a run, and the HTTP side: the snapshot, the event stream carrying
 * appended records and new sample sheets, the sheets themselves, closing; one-line CLI errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LogFollower } from '../src/web/log-follower.js';
import { RunWatch } from '../src/web/run-watch.js';
import { startDashboard } from '../src/web/dashboard-server.js';
import type { RunSnapshot } from '../src/web/dashboard-protocol.js';
import { writePng } from '../src/image/image-grid.js';
import { assertUserError } from './assert-user-error.js';
import { biggan, isCleanError } from './cli-helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-dashboard-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const line = (type: string, step: number, extra: Record<string, unknown> = {}): string => JSON.stringify({ type, step, ...extra, time: new Date().toISOString() }) + '\n';

test('LogFollower: appended lines, a torn last line held back, bad lines counted, a replaced log read again', () => {
  const file = path.join(tmp, 'follow.jsonl');
  const log = new LogFollower(file);
  assert.equal(log.poll(), null, 'no file yet');
  const l2 = line('train', 2, { g_loss: 1.5, name: 'σ0 ü' }); // multi-byte characters split across polls below
  fs.writeFileSync(file, line('start', 0) + line('train', 1) + l2.slice(0, 20));
  let d = log.poll()!;
  assert.equal(d.reset, false);
  assert.deepEqual(d.records.map((r) => [r.type, r.step]), [['start', 0], ['train', 1]]);
  assert.deepEqual(d.bad, []);
  assert.equal(log.poll(), null, 'a torn line alone is no change');
  const bytes = Buffer.from(l2);
  const cut = bytes.indexOf(Buffer.from('ü')) + 1; // inside the two bytes of ü
  fs.appendFileSync(file, bytes.subarray(Buffer.byteLength(l2.slice(0, 20)), cut));
  assert.equal(log.poll(), null);
  fs.appendFileSync(file, bytes.subarray(cut));
  d = log.poll()!;
  assert.deepEqual(d.records, [JSON.parse(l2)]);
  fs.appendFileSync(file, 'not json\n' + '[1, 2]\n' + '\n' + line('sv', 3));
  d = log.poll()!;
  assert.deepEqual(d.bad, [4, 5], 'line numbers of the bad lines (the blank one is not bad)');
  assert.deepEqual(d.records.map((r) => r.type), ['sv']);

  // --resume drops records past its checkpoint by rewriting the log (rename: a new file)
  const next = path.join(tmp, 'follow.next');
  fs.writeFileSync(next, line('start', 0) + line('resume', 1));
  fs.renameSync(next, file);
  d = log.poll()!;
  assert.equal(d.reset, true);
  assert.deepEqual(d.records.map((r) => r.type), ['start', 'resume']);
  // same length, same inode, other bytes where the last read ended: also a new log
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace(/"time":"[^"]+"\}\n$/, '"time":"1999-01-01T00:00:00.000Z"}\n'));
  d = log.poll()!;
  assert.equal(d.reset, true);
  assert.equal(d.records.length, 2);
  // a fresh run deletes it
  fs.rmSync(file);
  d = log.poll()!;
  assert.equal(d.reset, true);
  assert.deepEqual(d.records, []);
  assert.equal(log.poll(), null);
});

test('RunWatch.existing: one-line errors for what is not a run; a torn last line is fine', () => {
  assertUserError(() => RunWatch.existing(path.join(tmp, 'missing')), /missing does not exist/);
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'x');
  assertUserError(() => RunWatch.existing(file), /is not a directory/);
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  assertUserError(() => RunWatch.existing(empty), /is not a training run \(no log\.jsonl or config\.json/);
  const damaged = path.join(tmp, 'damaged');
  fs.mkdirSync(damaged);
  fs.writeFileSync(path.join(damaged, 'log.jsonl'), line('start', 0) + '{"type": "train", "st\n' + line('train', 2));
  assertUserError(() => RunWatch.existing(damaged), /log\.jsonl:2: not a JSON record/);
  const torn = path.join(tmp, 'torn');
  fs.mkdirSync(torn);
  fs.writeFileSync(path.join(torn, 'log.jsonl'), line('start', 0, { config: { steps: 9 } }) + line('train', 1) + '{"type":"tra');
  const s = RunWatch.existing(torn).snapshot();
  assert.deepEqual(s.records.map((r) => r.step), [0, 1]);
  assert.equal(s.config, null);
  assert.equal(s.training, false);
});

/** A server-sent-event stream read as {event, data} messages. */
function openEvents(url: string): Promise<{ next(): Promise<{ event: string; data: unknown }>; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      res.setEncoding('utf8');
      let buffer = '';
      const queue: { event: string; data: unknown }[] = [];
      let wake: (() => void) | null = null;
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map(block.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
          if (fields.has('data')) queue.push({ event: fields.get('event') ?? 'message', data: JSON.parse(fields.get('data')!) });
        }
        wake?.();
      });
      const ended = new Promise<void>((r) => res.on('end', () => r()));
      resolve({
        ended,
        next: async () => {
          const deadline = Date.now() + 10_000;
          while (!queue.length) {
            if (Date.now() > deadline) throw new Error('no event within 10 s');
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 100);
            });
          }
          return queue.shift()!;
        },
      });
    }).on('error', reject);
  });
}

async function get(url: string): Promise<{ status: number; type: string; body: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: Buffer.from(await res.arrayBuffer()) };
}

test('dashboard server: snapshot, records and sheets as they are written, sheets served, closing', async () => {
  const dir = path.join(tmp, 'run');
  fs.mkdirSync(path.join(dir, 'samples'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ steps: 20, batch: 4 }));
  fs.writeFileSync(path.join(dir, 'log.jsonl'), line('start', 0) + line('train', 1, { g_loss: 2 }));
  const dash = await startDashboard({ dir, port: 0, pollMs: 50 });
  try {
    const snap = (await (await fetch(`${dash.url}api/run`)).json()) as RunSnapshot;
    assert.deepEqual(snap.records.map((r) => r.type), ['start', 'train']);
    assert.deepEqual(snap.config, { steps: 20, batch: 4 });
    assert.deepEqual(snap.samples, []);

    const events = await openEvents(`${dash.url}api/events`);
    const first = await events.next();
    assert.equal(first.event, 'snapshot');
    assert.equal((first.data as RunSnapshot).records.length, 2);

    fs.appendFileSync(path.join(dir, 'log.jsonl'), line('train', 2, { g_loss: 1 }) + '{"type":"sv","st');
    const e1 = await events.next();
    assert.equal(e1.event, 'records');
    assert.deepEqual((e1.data as { records: { step: number }[] }).records.map((r) => r.step), [2]);

    writePng(path.join(dir, 'samples', 'step-00000002.png'), new Uint8Array(4 * 6 * 4).fill(200), 6, 4);
    const png = fs.readFileSync(path.join(dir, 'samples', 'step-00000002.png'));
    fs.writeFileSync(path.join(dir, 'samples', 'notes.png'), 'not a sheet name');
    const e2 = await events.next();
    assert.equal(e2.event, 'samples');
    const sheets = e2.data as { name: string; step: number | null; url: string }[];
    assert.deepEqual(sheets.map((s) => [s.name, s.step]), [['step-00000002.png', 2]]);
    const served = await get(dash.url + sheets[0].url);
    assert.equal(served.status, 200);
    assert.equal(served.type, 'image/png');
    assert.ok(served.body.equals(png));
    for (const bad of ['samples/notes.png', 'samples/..%2Fconfig.json', 'samples/%2E%2E/log.jsonl', 'samples/step-00000003.png', 'samples/%E0%A4%A.png']) {
      assert.equal((await get(dash.url + bad)).status, 404, bad);
    }

    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ steps: 30, batch: 4 }));
    const e3 = await events.next();
    assert.deepEqual([e3.event, e3.data], ['config', { steps: 30, batch: 4 }]);

    // close: the last complete record goes out first, then `closing`; the server waits for the page's answer
    fs.appendFileSync(path.join(dir, 'log.jsonl'), 'ep":5}\n' + line('end', 5));
    const closing = dash.close('test over');
    const e4 = await events.next();
    assert.equal(e4.event, 'records');
    assert.deepEqual((e4.data as { records: { type: string }[] }).records.map((r) => r.type), ['sv', 'end']);
    assert.deepEqual(await events.next(), { event: 'closing', data: { reason: 'test over' } });
    await events.ended;
    assert.equal((await get(`${dash.url}api/run`)).status, 200, 'still serving until the page says it is done');
    assert.equal((await fetch(`${dash.url}api/closed`, { method: 'POST' })).status, 204);
    await closing;
    await assert.rejects(fetch(`${dash.url}api/run`));
  } finally {
    await dash.close('test failed');
  }
});

/** A port that is taken for as long as the returned server lives. */
async function takenPort(): Promise<net.Server> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return srv;
}

test('CLI: biggan dashboard / train --dashboard errors are one line; a taken port fails before the run is made', async () => {
  for (const [args, re] of [
    [['dashboard', path.join(tmp, 'nope')], /nope does not exist/],
    [['dashboard', tmp], /is not a training run/],
    [['dashboard', tmp, '--port', '70000'], /expected a port from 0 to 65535/],
  ] as [string[], RegExp][]) {
    const r = biggan(args);
    assert.ok(isCleanError(r), `${args.join(' ')}: ${r.status} ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const srv = await takenPort();
  try {
    const port = (srv.address() as net.AddressInfo).port;
    const out = path.join(tmp, 'never-made');
    const r = biggan(['train', '--steps', '2', '--out', out, '--dashboard', String(port)]);
    assert.ok(isCleanError(r), r.stderr);
    assert.match(r.stderr, new RegExp(`--dashboard: port ${port} on 127\\.0\\.0\\.1 is in use \\(give another with --dashboard PORT\\)`));
    assert.equal(fs.existsSync(out), false);
  } finally {
    srv.close();
  }
});
