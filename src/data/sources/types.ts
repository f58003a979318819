/** What every training-data source offers to the preparation step (prepared-dataset.ts). */
import type { RgbImage } from '../decode.js';

export type SourceKind = 'folder' | 'cifar10' | 'npy';

export interface ImageSource {
  readonly kind: SourceKind;
  /** Absolute path that identifies the source (folder, CIFAR folder, or the images .npy). */
  readonly location: string;
  /** Class names; label k is classNames[k]. */
  readonly classNames: readonly string[];
  /** True when the items carry no classes (a class-less image folder): one class, label 0, no meaning. */
  readonly classless?: boolean;
  /** Number of items (after any `limit`). */
  readonly count: number;
  /** Label of item i, in [0, classNames.length). Known without decoding. */
  label(i: number): number;
  /** Human-readable name of item i for messages (a file path, or "file#record"). */
  itemName(i: number): string;
  /**
   * Hex digest of what the data consists of (file list, sizes, mtimes) plus
   * anything that changes the item list (limit, included batches). Cheap: no pixels read.
   */
  fingerprint(): string;
  /** The files the fingerprint covers (count). */
  readonly fileCount: number;
  /** Item i as RGB uint8 at its native size. A damaged item rejects with BadImageError. */
  load(i: number): Promise<RgbImage>;
  /** Releases file handles / memory. */
  close(): void;
}

/** Options shared by the source openers. */
export interface SourceOptions {
  /** Use only the first `limit` items (in source order). */
  limit?: number;
  /** CIFAR-10: also include test_batch.bin when present (default false). */
  includeTest?: boolean;
}

/** Applies SourceOptions.limit to a count. */
export function limitCount(count: number, limit: number | undefined): number {
  if (limit === undefined) return count;
  if (!Number.isInteger(limit) || limit <= 0) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  return Math.min(count, limit);
}
