/** How a `--data` spec is opened and, when needed, prepared (prepared-dataset.ts: openDataset). */
export interface PrepareOptions {
  /** Training resolution (square side in pixels). */
  resolution: number;
  /** Explicit cache file, or an existing folder to hold the default file name. Default: the user cache directory's `data/` (cache-dir.ts). */
  cache?: string;
  /** Leave out unreadable images (and report how many) instead of stopping. Default false. */
  skipBad?: boolean;
  /** Prepare again even when a valid cache exists. */
  rebuild?: boolean;
  /** Use only the first `limit` items of the source (in source order). */
  limit?: number;
  /** CIFAR-10: include test_batch.bin too. */
  includeTest?: boolean;
  /** Images decoded at the same time (default min(8, CPU count)). */
  concurrency?: number;
  /** Pixel bytes up to which an opened cache is held in memory (default 1 GiB). */
  memoryLimit?: number;
  /**
   * Set when the caller needs classes: a class-less source (or .bgd made from one) is then a
   * UserError, before anything is prepared, ending with this advice.
   */
  requireClasses?: string;
  /** Called as images are prepared. */
  onProgress?: (done: number, total: number) => void;
  /** One-line notes: cache reused/prepared, location fallback, skipped images. */
  log?: (line: string) => void;
}
