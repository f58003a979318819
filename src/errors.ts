/**
 * A problem with what the user gave us (a file, a flag, a shape). The CLI prints
 * its message as one line and exits non-zero, without a stack trace; anything
 * else that escapes is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * A short one-line rendering of a value taken from a user's file, for error
 * messages: bounded in length and depth whatever the value (JSON.stringify would
 * overflow the stack on deeply nested input and print megabytes for large input).
 */
export function showValue(v: unknown, max = 80): string {
  const s = render(v, 3);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function render(v: unknown, depth: number): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (typeof v === 'bigint') return v.toString(16).length > 20 ? '(a huge integer)' : `${v}`;
  if (typeof v !== 'object' || v === null) return String(v);
  if (depth === 0) return Array.isArray(v) ? '[…]' : '{…}';
  if (Array.isArray(v)) {
    const items = v.slice(0, 6).map((x) => render(x, depth - 1));
    if (v.length > 6) items.push('…');
    return `[${items.join(', ')}]`;
  }
  if (ArrayBuffer.isView(v)) return `(${v.byteLength} bytes)`;
  const keys = Object.keys(v);
  const items = keys.slice(0, 6).map((k) => `${JSON.stringify(k.slice(0, 40))}: ${render((v as Record<string, unknown>)[k], depth - 1)}`);
  if (keys.length > 6) items.push('…');
  return `{${items.join(', ')}}`;
}

/** Runs `fn`; a UserError from it whose message does not name `file` is raised again with `file: ` in front. */
export function inFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UserError && !err.message.includes(file)) throw new UserError(`${file}: ${err.message}`);
    throw err;
  }
}
