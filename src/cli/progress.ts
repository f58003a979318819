/** Progress bars on stderr, shown only on a terminal so logs and pipes stay clean. */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(total: number, label: string, extraFormat = ''): Progress {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} |{bar}| {value}/{total} | {percentage}% | ETA {eta_formatted}${extraFormat}`,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (done, payload) => bar.update(done, payload), stop: () => bar.stop() };
}
