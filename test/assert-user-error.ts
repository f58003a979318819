import assert from 'node:assert/strict';
import { UserError } from '../src/errors.js';

/** Asserts fn throws a one-line UserError matching `re` (and naming `file` when given). */
export function assertUserError(fn: () => unknown, re: RegExp, file?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${err instanceof Error ? err.stack : String(err)}`);
    assert.ok(!err.message.includes('\n'), `message should be one line: ${err.message}`);
    assert.match(err.message, re);
    if (file) assert.ok(err.message.includes(file), `message should name ${file}: ${err.message}`);
    return true;
  });
}
