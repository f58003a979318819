/**
 * `biggan train`'s commander options, made from the flag tables (train/run/train-flags.ts):
 * a kind's parser rejects a malformed value before anything runs, with commander's
 * one-line "argument ... is invalid" error; choices are commander choices.
 */
import { InvalidArgumentError, Option } from 'commander';
import { parseAttentionString } from '../models/biggan-config.js';
import { RUN_FLAGS, TRAIN_FLAGS, type FlagKind } from '../train/run/train-flags.js';
import { finiteNumber, nonNegativeInt, positiveInt } from './options.js';

function betas(value: string): [number, number] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || parts.some((b) => !Number.isFinite(b) || b < 0 || b >= 1)) throw new InvalidArgumentError(`expected two numbers in [0, 1) like "0,0.999", got "${value}"`);
  return parts as [number, number];
}

function attention(value: string): number[] {
  if (value === 'none') return [];
  try {
    return parseAttentionString(value, 'attention');
  } catch {
    throw new InvalidArgumentError(`expected resolutions joined by '_' (e.g. 64 or 32_64; 0 or none for none), got "${value}"`);
  }
}

/** The commander option of a table entry. */
export function commanderOption(f: { flag: string; help: string; kind: FlagKind; required?: boolean }): Option {
  const o = new Option(f.flag, f.help);
  if (f.required) o.makeOptionMandatory();
  const k = f.kind;
  switch (k.kind) {
    case 'int':
      return o.argParser(k.min === 1 ? positiveInt : nonNegativeInt);
    case 'number':
      return o.argParser(finiteNumber);
    case 'betas':
      return o.argParser(betas);
    case 'attention':
      return o.argParser(attention);
    case 'choice':
      return o.choices(k.choices);
    case 'switch':
    case 'negated':
    case 'path':
      return o;
  }
}

/** Every flag of both tables, as `biggan train --help` lists them: the run directory's, the model and recipe flags, the other run-level ones. */
export function trainCommanderOptions(): Option[] {
  const runDir = (f: { option: string }): boolean => f.option === 'out' || f.option === 'resume';
  return [...RUN_FLAGS.filter(runDir), ...TRAIN_FLAGS, ...RUN_FLAGS.filter((f) => !runDir(f))].map(commanderOption);
}
