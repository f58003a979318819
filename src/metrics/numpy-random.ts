/**
 * The few draws of NumPy's legacy `np.random.RandomState(seed)` that
 * torch-fidelity's metrics use, reproduced bit for bit: an MT19937 generator
 * seeded with the classic init_genrand, `permutation(n)` (a Fisher-Yates
 * shuffle from the back, each index drawn by masked rejection sampling) and
 * `choice(n, m, replace=False)` (the first m entries of a full permutation).
 * This is what makes IS and KID match torch-fidelity without NumPy.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

export class NumpyRandomState {
  private readonly mt = new Uint32Array(N);
  private index = N;

  /** Same stream as `np.random.RandomState(seed)` for an integer seed 0 <= seed < 2^32. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`RandomState seed must be an integer in [0, 2^32), got ${seed}`);
    }
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1];
      // 1812433253 * (prev ^ (prev >> 30)) + i, modulo 2^32.
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  /** Next raw 32-bit output (tempered), as an unsigned number. */
  nextUint32(): number {
    if (this.index >= N) this.refill();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform integer in [0, max] by masking to the next power of two minus one and rejecting. */
  interval(max: number): number {
    if (max === 0) return 0;
    if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) {
      throw new RangeError(`interval bound must be an integer in [0, 2^32), got ${max}`);
    }
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }

  /** `np.random.RandomState.permutation(n)`. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`permutation size must be a non-negative integer, got ${n}`);
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = i;
    for (let i = n - 1; i >= 1; i--) {
      const j = this.interval(i);
      const t = a[i]; a[i] = a[j]; a[j] = t;
    }
    return a;
  }

  /** `np.random.RandomState.choice(n, m, replace=False)`: draws a full permutation, keeps m. */
  choiceWithoutReplacement(n: number, m: number): Int32Array {
    if (!Number.isInteger(m) || m < 0 || m > n) {
      throw new RangeError(`cannot choose ${m} of ${n} without replacement`);
    }
    return this.permutation(n).slice(0, m);
  }

  private refill(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k] & UPPER) | (mt[(k + 1) % N] & LOWER);
      mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.index = 0;
  }
}
