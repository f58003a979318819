/**
 * The checkpoint layouts, tried in this order: the first whose `detect` fires loads the
 * file. A new layout is one entry file beside this one and one line here.
 */
import { UserError } from '../../errors.js';
import type { CheckpointLayout, WeightsFile } from './checkpoint-layout.js';
import { BIGGAN_TS_LAYOUT } from './biggan-ts-layout.js';
import { PRETRAINED_BIGGAN_LAYOUT } from './pretrained-biggan-layout.js';
import { BIGGAN_PYTORCH_LAYOUT } from './biggan-pytorch-layout.js';

export const CHECKPOINT_LAYOUTS: readonly CheckpointLayout[] = [
  BIGGAN_TS_LAYOUT, // first: our checkpoints would also read as plain safetensors state dicts
  PRETRAINED_BIGGAN_LAYOUT,
  BIGGAN_PYTORCH_LAYOUT,
];

/** The first layout that recognises `file`; none: a UserError naming the file, its first keys and every layout's files. */
export function detectLayout(file: WeightsFile, role: 'generator' | 'discriminator', layouts: readonly CheckpointLayout[] = CHECKPOINT_LAYOUTS): CheckpointLayout {
  const found = layouts.find((layout) => layout.detect(file));
  if (found) return found;
  const keys = file.keys();
  const first = keys.slice(0, 3).join(', ') + (keys.length > 3 ? ', …' : '');
  const expected = layouts.map((l) => `${l.name}: ${l.expects}`).join('; ');
  throw new UserError(`${file.path} is not a BigGAN ${role} checkpoint this tool knows (first keys: ${first}); expected one of ${expected}`);
}
