/**
 * A setting's options checked as `biggan train` would check them (types, ranges, what the
 * architecture has), before any trial starts: a bad value fails the sweep in one line
 * naming the setting, not in the first trial's process after data preparation.
 */
import { flagsFrom, type TrainFlagOptions } from '../api/train.js';
import { UserError } from '../errors.js';
import { resolveConfig } from '../train/run/config.js';
import type { Setting } from './spec.js';

export function checkTrialOptions(fixed: Setting, setting: Setting, steps: number): void {
  try {
    resolveConfig(flagsFrom({ ...fixed, ...setting, steps, seed: 0 } as TrainFlagOptions));
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`setting ${JSON.stringify(setting)}: ${err.message}`);
    throw err;
  }
}
