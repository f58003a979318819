/** The job queue's small parts: redis:// URLs, the shard plan, the retry/stall settings from the environment. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardRanges } from '../src/eval/generation-shards.js';
import { parseQueueUrl, redactedUrl } from '../src/queue/connection.js';
import { queueSettings } from '../src/queue/jobs.js';
import { assertUserError } from './assert-user-error.js';

test('queue URLs: host, port, database, credentials, TLS; anything else a one-line error', () => {
  assert.deepEqual(parseQueueUrl('redis://127.0.0.1:6379'), { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null });
  assert.deepEqual(parseQueueUrl('rediss://bob:p%40ss@redis.example:6380/2'), {
    host: 'redis.example', port: 6380, db: 2, username: 'bob', password: 'p@ss', tls: {}, maxRetriesPerRequest: null,
  });
  assert.equal(parseQueueUrl('redis://[::1]:7000').host, '::1');
  assert.equal(redactedUrl('redis://bob:secret@h:1'), 'redis://bob:***@h:1');
  for (const [url, why] of [
    ['localhost:6379', /unsupported scheme localhost|not a URL/],
    ['http://h:1', /unsupported scheme http/],
    ['redis://h', /no port/],
    ['redis://h:1/x', /database 'x' is not a number/],
    ['redis://h:1?db=2', /query strings/],
    ['redis://:secret@h:99999', /not a URL|out of range/],
  ] as const) {
    assertUserError(() => parseQueueUrl(url), why);
  }
  // the password never appears in a message
  assert.throws(() => parseQueueUrl('redis://u:hunter2@h'), (e: Error) => !e.message.includes('hunter2'));
});

test('shard plan: whole batches, sizes within one batch, covering [0, n)', () => {
  assert.deepEqual(shardRanges(22, 4, 3), [[0, 8], [8, 16], [16, 22]]);
  assert.deepEqual(shardRanges(22, 4, 4), [[0, 4], [4, 12], [12, 16], [16, 22]]);
  assert.deepEqual(shardRanges(10, 16, 1), [[0, 10]]);
  const r = shardRanges(50000, 16, 7);
  assert.equal(r[0][0], 0);
  assert.equal(r[6][1], 50000);
  for (let k = 0; k < r.length; k++) {
    assert.equal(r[k][0] % 16, 0);
    if (k > 0) assert.equal(r[k][0], r[k - 1][1]);
  }
  assertUserError(() => shardRanges(22, 4, 7), /--shards 7 is more than the 6 generator batches/);
});

test('queue settings from the environment, checked', () => {
  const keep = { ...process.env };
  try {
    delete process.env.BIGGAN_QUEUE_STALLED_MS;
    delete process.env.BIGGAN_QUEUE_ATTEMPTS;
    delete process.env.BIGGAN_QUEUE_BACKOFF_MS;
    assert.deepEqual(queueSettings(), { stalledMs: 30000, attempts: 5, backoffMs: 5000 });
    process.env.BIGGAN_QUEUE_STALLED_MS = '1500';
    assert.equal(queueSettings().stalledMs, 1500);
    process.env.BIGGAN_QUEUE_ATTEMPTS = '0';
    assertUserError(() => queueSettings(), /BIGGAN_QUEUE_ATTEMPTS must be an integer >= 1, got '0'/);
  } finally {
    process.env = keep;
  }
});
