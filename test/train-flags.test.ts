/**
 * The training-flag table (train/run/train-flags.ts) against what is made from it: every
 * config field has one flag that owns it, the generated commander options are the
 * table's, each flag's resume rule is what --resume does with it, and each flag's graph
 * attribute is what the trainer compiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { RUN_FLAGS, TRAIN_FLAGS, flagName, getField, type ConfigField, type TrainFlag } from '../src/train/run/train-flags.js';
import { hyperOf, mergeForResume, parseStoredConfig, resolveConfig, type TrainConfig } from '../src/train/run/config.js';
import { flagsFrom, type TrainFlagOptions } from '../src/api/train.js';
import { registerTrain } from '../src/cli/commands/train.js';
import { buildRunModels } from '../src/train/run/build-models.js';
import { GanTrainer } from '../src/train/train-step.js';

const FLAGS: readonly TrainFlag[] = TRAIN_FLAGS;

/** Every field of a resolved config, collapse settings as 'collapse.x'. */
function configFields(c: TrainConfig): ConfigField[] {
  return Object.entries(c).flatMap(([k, v]) => (k === 'collapse' ? Object.keys(v as object).map((s) => `collapse.${s}`) : [k])) as ConfigField[];
}

test('train flags: every config field has exactly one flag that owns it (declares its default), and the defaults build the config in its field order', () => {
  const c = resolveConfig({ data: '/data' });
  for (const field of configFields(c)) {
    const owners = FLAGS.filter((f) => f.field === field && f.default !== undefined);
    assert.equal(owners.length, 1, `${field}: ${owners.map(flagName).join(', ') || 'no flag'}`);
  }
  for (const f of FLAGS) {
    for (const field of [f.field, ...(f.fallbackFor ?? [])]) if (field) assert.notEqual(getField(c, field), undefined, `${flagName(f)} sets ${field}, no config field`);
    assert.ok(f.field || f.fallbackFor, `${flagName(f)} sets nothing`);
  }
  // the table's order is the stored config's order
  const owned = FLAGS.filter((f) => f.field && f.default !== undefined).map((f) => f.field!.split('.')[0]);
  assert.deepEqual(Object.keys(c), [...new Set(owned)]);
});

test('train flags: flags sharing a field agree on its rules; exclusions are declared once per pair', () => {
  for (const f of FLAGS) {
    const fields = [f.field, ...(f.fallbackFor ?? [])].filter((x): x is ConfigField => !!x);
    for (const field of fields) {
      const owner = FLAGS.find((g) => g.field === field && g.default !== undefined)!;
      assert.equal(f.resume, owner.resume, `${flagName(f)} vs ${flagName(owner)} on ${field}: resume`);
      assert.equal(f.graph, owner.graph, `${flagName(f)} vs ${flagName(owner)} on ${field}: graph`);
    }
    if (f.excludes) {
      const other = FLAGS.find((g) => g.option === f.excludes)!;
      assert.equal(other.field, f.field, `${flagName(f)} excludes ${flagName(other)}, which sets another field`);
      assert.equal(other.excludes, undefined);
    }
  }
  // collapse settings are bookkeeping: never refused on resume, never part of a graph
  for (const f of FLAGS.filter((x) => x.field?.startsWith('collapse.'))) assert.deepEqual([f.resume, f.graph], ['free', false], flagName(f));
});

test('train flags: biggan train has exactly the tables\' options, with their help, choices and attribute names', () => {
  const program = new Command();
  registerTrain(program);
  const cmd = program.commands.find((c) => c.name() === 'train')!;
  const opts = new Map(cmd.options.map((o) => [o.flags, o]));
  const table = [...RUN_FLAGS, ...TRAIN_FLAGS];
  assert.deepEqual([...opts.keys()].filter((k) => !k.startsWith('--dashboard')).sort(), table.map((f) => f.flag).sort());
  const options = new Set<string>();
  for (const f of table) {
    const o = opts.get(f.flag)!;
    assert.equal(o.attributeName(), f.option, f.flag);
    assert.equal(o.description, f.help, f.flag);
    assert.equal(o.negate, f.kind.kind === 'negated', f.flag);
    assert.deepEqual(o.argChoices, f.kind.kind === 'choice' ? [...f.kind.choices] : undefined, f.flag);
    assert.equal(o.mandatory, 'required' in f && f.required === true, f.flag);
    assert.ok(!options.has(f.option), `${f.option} twice`);
    options.add(f.option);
  }
});

/** A valid value of a flag other than the config's (numbers: 0 where allowed, so that on/off switches flip). */
function otherValue(f: TrainFlag, current: unknown): unknown {
  const k = f.kind;
  switch (k.kind) {
    case 'int':
      return (current as number) + 1;
    case 'number':
      return current == null || current === 0 ? 1 : f.range?.(0 as never) === null ? 0 : (current as number) / 2;
    case 'betas':
      return [0.5, 0.9];
    case 'attention':
      return [32];
    case 'choice':
      return k.choices.find((c) => c !== current);
    case 'switch':
      return !current;
    case 'negated':
      return false;
    case 'path':
      return '/elsewhere';
  }
}

/** Options a changed value needs to be valid. */
const COMPANIONS: Record<string, TrainFlagOptions> = { penaltyWeight: { penalty: 'l2' }, sigmaReg: { sigmaRegStrength: 1 }, sigmaRegRatio: { sigmaRegStrength: 1 } };

function changed(saved: TrainConfig, f: TrainFlag): TrainFlagOptions {
  const current = f.fromConfig ? f.fromConfig(saved) : getField(saved, (f.field ?? f.fallbackFor![0])!);
  return { [f.option]: otherValue(f, current), ...COMPANIONS[f.option] } as TrainFlagOptions;
}

test('train flags: --resume refuses the fixed ones, reports the tunable ones and takes the free ones silently', () => {
  const saved = resolveConfig(flagsFrom({ data: '/data', resolution: 32, ch: 8, batch: 4 }));
  for (const f of FLAGS) {
    if (f.option === 'syntheticClasses' || f.option === 'syntheticCount') continue; // only without --data: below
    const flags = flagsFrom(changed(saved, f));
    const fields = [f.field, ...(f.fallbackFor ?? [])].filter((x): x is ConfigField => !!x);
    if (f.resume === 'fixed') {
      assert.throws(() => mergeForResume(saved, flags), /--resume cannot change/, flagName(f));
      continue;
    }
    const r = mergeForResume(saved, flags);
    for (const field of fields) assert.notDeepEqual(getField(r.config, field), getField(saved, field), flagName(f));
    if (f.resume === 'tunable') for (const field of fields) assert.ok(r.changed.includes(field), `${flagName(f)}: changed ${r.changed}`);
    else assert.deepEqual(r.changed, [], flagName(f));
  }
  const demo = resolveConfig({});
  for (const option of ['syntheticClasses', 'syntheticCount']) {
    assert.throws(() => mergeForResume(demo, flagsFrom({ [option]: 3 })), /--resume cannot change/, option);
  }
});

test('train flags: the graph attribute of each flag a resume may change is whether the trainer compiles other graphs', () => {
  // a penalty already on, so that --penalty-weight's companion --penalty l2 changes nothing
  const saved = resolveConfig({ resolution: 32, gCh: 4, dCh: 4, batch: 2, penalty: 'l2' });
  const models = buildRunModels(saved, saved.synthetic.numClasses, { init: true });
  const structure = (c: TrainConfig): string => {
    const t = new GanTrainer({ ...models, hyper: hyperOf(c), batch: c.batch, graphs: c.graphs });
    const n = t.trainNetworks();
    return JSON.stringify({ ortho: n.orthoVariant, r1: n.r1, loss: n.loss, penalty: n.penalty, sigmaReg: n.sigmaReg !== undefined, graphs: c.graphs });
  };
  const base = structure(saved);
  for (const f of FLAGS.filter((x) => x.resume !== 'fixed')) {
    const { config } = mergeForResume(saved, flagsFrom(changed(saved, f)));
    assert.equal(structure(config) !== base, f.graph, `${flagName(f)}: graph ${f.graph}`);
  }
});

test('train flags: a stored config from before a flag existed reads as its default; other missing fields are refused', () => {
  const c = resolveConfig({ data: '/data' });
  const old: Record<string, unknown> = JSON.parse(JSON.stringify(c));
  const added = FLAGS.filter((f) => f.absentFromOldRuns);
  for (const f of added) delete old[f.field!];
  assert.deepEqual(parseStoredConfig(old, 'f'), c);
  const { gLr: _, ...lacking } = c;
  assert.throws(() => parseStoredConfig(lacking, 'f'), /lacks gLr/);
});

test('train flags: a config value out of its flag\'s range is a one-line error naming the flag', () => {
  const c = resolveConfig({});
  assert.throws(() => resolveConfig({ ...c, batch: 0 }), /^UserError: --batch must be a positive integer, got 0$/);
  assert.throws(() => resolveConfig({ sigmaClamp: { kind: 'ratio', ratio: -1 } }), /--sigma-clamp-ratio must be a positive number, got -1/);
  assert.throws(() => resolveConfig({ collapse: { sigmaFactor: 0.5 } }), /--collapse-sigma-factor must be > 1, got 0.5/);
  assert.throws(() => resolveConfig({ graphs: 'x' as 'single' }), /--graphs must be single or per-step, got x/);
  assert.throws(() => flagsFrom({ sigmaReg: 1, sigmaRegRatio: 1 }), /give either --sigma-reg or --sigma-reg-ratio, not both/);
});

test('train flags: the library option types come from the table (checked when the tests compile)', () => {
  const good: TrainFlagOptions = { ch: 4, dNorm: 'batch', hier: false, gAttn: [], betas: [0, 0.9], loss: 'ns', collapseAction: 'rollback', data: 'x' };
  // @ts-expect-error not a --d-norm choice
  const badChoice: TrainFlagOptions = { dNorm: 'group' };
  // @ts-expect-error --ch is a number
  const badType: TrainFlagOptions = { ch: '4' };
  // @ts-expect-error no such flag
  const unknown: TrainFlagOptions = { chWidth: 4 };
  assert.deepEqual(flagsFrom(good).gCh, 4);
  assert.ok(badChoice && badType && unknown);
});
