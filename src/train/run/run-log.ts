/**
 * The run's JSONL log (DIR/log.jsonl): one JSON object per line, every one with
 * `type` and `step` (iterations done when it was written). Records:
 *
 *   start       config, data, parameter counts                 (step 0, or the resume step)
 *   resume      the checkpoint resumed from, changed settings
 *   train       every --log-every iterations: means over the iterations since the
 *               previous train record of d_loss_real, d_loss_fake, g_loss, d_grad_norm,
 *               g_grad_norm (dG_loss/dθ), g_grad_norm_total (with the ortho term); the
 *               learning rates, ema_decay, epoch, it_per_s, img_per_s (real images
 *               consumed by D per second), elapsed_s
 *   sv          every --sv-every iterations: {"G": {"<weight path>": [σ0, σ1, σ2], ...}, "D": {...}}
 *   samples     a sample sheet: file, diversity (within-class pixel std)
 *   checkpoint  file, healthy, seconds to write
 *   eval        with --stats / --eval-every: is_mean, is_std, fid (with --stats), n,
 *               truncation (when given), standing (BN statistics were standing ones),
 *               seconds — G_ema scored as `biggan eval` would score the checkpoint
 *   collapse    signals, last healthy checkpoint, action taken
 *   diverged    a loss or gradient norm became NaN/Inf
 *   end         the run reached --steps
 *
 * Lines are appended as they happen; a killed run may leave records past its last
 * checkpoint, which `--resume` drops (truncateAfter) before continuing, so the log
 * of a resumed run reads like the log of an uninterrupted one (plus a resume record).
 */
import fs from 'node:fs';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { UserError } from '../../errors.js';

export interface LogRecord {
  type: string;
  step: number;
  [key: string]: unknown;
}

export class RunLog {
  constructor(readonly file: string) {}

  write(record: LogRecord): void {
    fs.appendFileSync(this.file, JSON.stringify({ ...record, time: new Date().toISOString() }) + '\n');
  }

  /** Drops records with step > `step` (and any torn last line). */
  truncateAfter(step: number): number {
    if (!fs.existsSync(this.file)) return 0;
    const lines = fs.readFileSync(this.file, 'utf8').split('\n');
    const kept: string[] = [];
    let dropped = 0;
    for (const line of lines) {
      if (!line.trim()) continue;
      let rec: LogRecord;
      try {
        rec = JSON.parse(line) as LogRecord;
      } catch {
        dropped++;
        continue;
      }
      if (typeof rec.step === 'number' && rec.step > step) dropped++;
      else kept.push(line);
    }
    if (dropped) writeFileAtomic(this.file, Buffer.from(kept.map((l) => l + '\n').join('')));
    return dropped;
  }
}

/** Reads a log; a torn last line (killed writer) is skipped, other bad lines are reported. */
export function readRunLog(file: string): LogRecord[] {
  const out: LogRecord[] = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as LogRecord);
    } catch {
      if (i < lines.length - 2) throw new UserError(`${file}:${i + 1}: not a JSON record`);
    }
  });
  return out;
}
