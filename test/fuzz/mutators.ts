/**
 * Seeded mutations for the loader fuzz test: generic byte-level ones (bit flips,
 * boundary bytes, integer fields set to boundary values, truncation, inserted,
 * deleted and repeated ranges) and helpers the per-format mutators share (JSON
 * values replaced by boundary values or deep nesting, little-endian fields).
 */
import { Rng } from '../../src/random/rng.js';

/** One mutation: new bytes and a short description (printed to reproduce a failure). */
export interface Mutated {
  bytes: Uint8Array;
  desc: string;
}

export type Mutator = (bytes: Uint8Array, rng: Rng) => Mutated;

export const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.int(items.length)]!;

/** An offset biased towards the start of the file, where headers and length fields live. */
export function offsetIn(rng: Rng, length: number): number {
  if (length === 0) return 0;
  return rng.int(4) === 0 ? rng.int(length) : rng.int(Math.min(length, 256));
}

/** Integer values at the edges of every common field width. */
export const BOUNDARY_INTS: readonly bigint[] = [
  0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n, 0xffffffffn,
  0x100000000n, 0x1fffffffffffffn, 0x20000000000000n, 0x7fffffffffffffffn, 0xffffffffffffffffn, 0xfffffffen, 1000000n,
];

/** Writes `value` as a `width`-byte little- or big-endian integer at `off` (truncated to the width). */
export function writeUint(bytes: Uint8Array, off: number, width: number, value: bigint, littleEndian = true): void {
  let v = BigInt.asUintN(width * 8, value);
  for (let i = 0; i < width; i++) {
    const at = littleEndian ? off + i : off + width - 1 - i;
    if (at >= 0 && at < bytes.length) bytes[at] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const flipBits: Mutator = (b, rng) => {
  const out = Uint8Array.from(b);
  const n = 1 + rng.int(8);
  const at: number[] = [];
  for (let k = 0; k < n && out.length > 0; k++) {
    const off = offsetIn(rng, out.length);
    out[off]! ^= 1 << rng.int(8);
    at.push(off);
  }
  return { bytes: out, desc: `flip bits at ${at.join(',')}` };
};

const boundaryBytes: Mutator = (b, rng) => {
  const out = Uint8Array.from(b);
  const n = 1 + rng.int(4);
  const at: string[] = [];
  for (let k = 0; k < n && out.length > 0; k++) {
    const off = offsetIn(rng, out.length);
    const v = pick(rng, [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe]);
    out[off] = v;
    at.push(`${off}=${v}`);
  }
  return { bytes: out, desc: `bytes ${at.join(',')}` };
};

const boundaryInt: Mutator = (b, rng) => {
  const out = Uint8Array.from(b);
  const width = pick(rng, [2, 4, 8]);
  const off = offsetIn(rng, Math.max(1, out.length - width + 1));
  const v = pick(rng, BOUNDARY_INTS);
  const le = rng.int(4) !== 0;
  writeUint(out, off, width, v, le);
  return { bytes: out, desc: `u${width * 8}${le ? 'le' : 'be'} at ${off} = ${v}` };
};

const truncate: Mutator = (b, rng) => {
  const cut = rng.int(2) === 0 ? rng.int(b.length + 1) : Math.max(0, b.length - 1 - rng.int(64));
  return { bytes: b.slice(0, cut), desc: `truncate to ${cut}` };
};

const deleteRange: Mutator = (b, rng) => {
  const at = offsetIn(rng, b.length);
  const n = 1 + rng.int(32);
  return { bytes: concat(b.subarray(0, at), b.subarray(at + n)), desc: `delete ${n} at ${at}` };
};

const insertBytes: Mutator = (b, rng) => {
  const at = offsetIn(rng, b.length + 1);
  const n = 1 + rng.int(16);
  const ins = new Uint8Array(n);
  for (let i = 0; i < n; i++) ins[i] = rng.int(4) === 0 ? 0xff : rng.int(256);
  return { bytes: concat(b.subarray(0, at), ins, b.subarray(at)), desc: `insert ${n} at ${at}` };
};

const repeatRange: Mutator = (b, rng) => {
  const at = offsetIn(rng, b.length);
  const n = 1 + rng.int(64);
  const times = 1 + rng.int(64);
  const piece = b.subarray(at, at + n);
  const rep = new Uint8Array(piece.length * times);
  for (let t = 0; t < times; t++) rep.set(piece, t * piece.length);
  return { bytes: concat(b.subarray(0, at), rep, b.subarray(at)), desc: `repeat ${n} bytes at ${at} x${times}` };
};

export const GENERIC_MUTATORS: readonly Mutator[] = [flipBits, boundaryBytes, boundaryInt, truncate, deleteRange, insertBytes, repeatRange];

/** Replacement values for JSON fields, as JSON text (some, e.g. 1e999 = Infinity, JSON.stringify cannot write). */
function jsonReplacements(rng: Rng): string[] {
  const depth = pick(rng, [100, 5000, 100000]);
  return [
    'null', 'true', 'false', '0', '-1', '1', '0.5', '-0', '1e999', '-1e999', '1e300', '2147483648', '4294967296',
    '9007199254740993', '1e15', '65536', '""', '"x"', '[]', '{}', '[1]', '[-1, 0]', '[1.5]', '["a"]', '{"a": 1}',
    `${'['.repeat(depth)}${']'.repeat(depth)}`,
    `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
    `"${'a'.repeat(100000)}"`,
    `[${new Array(100000).fill('0').join(',')}]`,
  ];
}

const PLACEHOLDER = '\u0000fuzz\u0000';

/**
 * Replaces (or deletes, or wraps in deep nesting) one value of a JSON document.
 * Returns null when `text` is not JSON.
 */
export function mutateJsonText(text: string, rng: Rng): { text: string; desc: string } | null {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return null;
  }
  // Collect (parent, key) slots breadth-first, at most a few thousand.
  const slots: { parent: Record<string, unknown> | unknown[]; key: string | number; path: string }[] = [];
  const queue: { v: unknown; path: string }[] = [{ v: root, path: '$' }];
  while (queue.length > 0 && slots.length < 4000) {
    const { v, path } = queue.shift()!;
    if (Array.isArray(v)) {
      v.slice(0, 64).forEach((x, i) => {
        slots.push({ parent: v, key: i, path: `${path}[${i}]` });
        queue.push({ v: x, path: `${path}[${i}]` });
      });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        slots.push({ parent: v as Record<string, unknown>, key: k, path: `${path}.${k}` });
        queue.push({ v: x, path: `${path}.${k}` });
      }
    }
  }
  if (slots.length === 0) return { text: pick(rng, jsonReplacements(rng)), desc: 'replace whole document' };
  const slot = pick(rng, slots);
  const action = rng.int(6);
  if (action === 0) {
    if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
    else delete slot.parent[slot.key as string];
    return { text: JSON.stringify(root), desc: `delete ${slot.path}` };
  }
  const old = (slot.parent as Record<string | number, unknown>)[slot.key];
  let replacement: string;
  if (action === 1 && typeof old === 'number') {
    replacement = String(pick(rng, [old * 2, old * 1000, old + 1, old - 1, -old, old * 2 ** 20, old / 2]));
    if (!Number.isFinite(Number(replacement))) replacement = '1e999';
  } else {
    replacement = pick(rng, jsonReplacements(rng));
  }
  (slot.parent as Record<string | number, unknown>)[slot.key] = PLACEHOLDER;
  const out = JSON.stringify(root).replace(JSON.stringify(PLACEHOLDER), () => replacement);
  return { text: out, desc: `${slot.path} = ${replacement.length > 40 ? `${replacement.slice(0, 20)}…(${replacement.length} chars)` : replacement}` };
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const fromUtf8 = (b: Uint8Array): string => new TextDecoder().decode(b);
