/** Our own checkpoints (checkpoint-format.ts): the model description is in the metadata; sampling uses G_ema when present. */
import { CheckpointContents, discriminatorFromCheckpoint, generatorFromCheckpoint, readCheckpoint } from '../checkpoint-format.js';
import type { CheckpointLayout, WeightsFile } from './checkpoint-layout.js';

const contents = (file: WeightsFile): CheckpointContents | null => file.cached('biggan-ts', () => readCheckpoint(file.path));

export const BIGGAN_TS_LAYOUT: CheckpointLayout = {
  name: 'biggan-ts',
  expects: 'a .safetensors checkpoint written by this toolkit (metadata format "biggan-ts")',
  detect: (file) => contents(file) !== null,
  loadGenerator(file) {
    const ck = contents(file)!;
    return { model: generatorFromCheckpoint(ck, file.path), classNames: ck.classNames };
  },
  loadDiscriminator(file) {
    const ck = contents(file)!;
    return { model: discriminatorFromCheckpoint(ck, file.path), classNames: ck.classNames };
  },
};
