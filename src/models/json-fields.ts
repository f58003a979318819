/**
 * Typed, range-checked reads of a JSON object taken from a user's file (our
 * checkpoint metadata, model configs). Every problem is a one-line UserError that
 * names `where` (the file and the entry) and the field.
 */
import { UserError, showValue } from '../errors.js';

/** Widths, latent sizes and class counts above this are refused outright (real models use at most a few thousand). */
export const MAX_MODEL_DIM = 1 << 20;

export class JsonFields {
  readonly o: Record<string, unknown>;

  constructor(raw: unknown, readonly where: string) {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new UserError(`${where} must be a JSON object, got ${showValue(raw)}`);
    }
    this.o = raw as Record<string, unknown>;
  }

  fail(msg: string): never {
    throw new UserError(`${this.where}: ${msg}`);
  }

  /** Whether the field is present (own property, not undefined). */
  has(key: string): boolean {
    return Object.hasOwn(this.o, key) && this.o[key] !== undefined;
  }

  private value(key: string): unknown {
    if (!this.has(key)) this.fail(`missing field ${key}`);
    return this.o[key];
  }

  /** An integer in [min, max]. */
  int(key: string, min: number, max = MAX_MODEL_DIM): number {
    const v = this.value(key);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(`${key} must be an integer in [${min}, ${max}], got ${showValue(v)}`);
    return v as number;
  }

  /** A finite number > 0. */
  positive(key: string): number {
    const v = this.value(key);
    if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) this.fail(`${key} must be a positive number, got ${showValue(v)}`);
    return v as number;
  }

  bool(key: string): boolean {
    const v = this.value(key);
    if (typeof v !== 'boolean') this.fail(`${key} must be true or false, got ${showValue(v)}`);
    return v as boolean;
  }

  /** A list of at most `maxLength` integers in [min, max]. */
  intList(key: string, min: number, max = MAX_MODEL_DIM, maxLength = 64): number[] {
    const v = this.value(key);
    if (!Array.isArray(v) || v.length > maxLength || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max)) {
      this.fail(`${key} must be a list of at most ${maxLength} integers in [${min}, ${max}], got ${showValue(v)}`);
    }
    return [...(v as number[])];
  }

  /** One of the listed values. */
  oneOf<T>(key: string, values: readonly T[]): T {
    const v = this.value(key);
    if (!values.includes(v as T)) this.fail(`${key} must be one of ${values.map((x) => showValue(x)).join(', ')}, got ${showValue(v)}`);
    return v as T;
  }

  /** A nested object, read the same way. */
  object(key: string): JsonFields {
    return new JsonFields(this.value(key), `${this.where} ${key}`);
  }
}
