/**
 * Loading any supported generator / discriminator file: the layouts of layouts/registry.ts
 * are asked in turn (from the file's contents, never its extension alone), the first that
 * recognises the file loads it. Our own format (read and written) is checkpoint-format.ts.
 */
import { UserError } from '../errors.js';
import { regularFileSize } from '../io/read-file.js';
import { DiscriminatorModel, GeneratorModel } from './interfaces.js';
import { LayoutName, WeightsFile } from './layouts/checkpoint-layout.js';
import { detectLayout } from './layouts/registry.js';

export {
  CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type CheckpointContents, type CheckpointParts,
  readCheckpoint, section, saveCheckpoint, generatorFromCheckpoint,
} from './checkpoint-format.js';

export interface LoadedGenerator {
  model: GeneratorModel;
  /** Class names the model was trained with (our checkpoints), when known. */
  classNames?: string[];
  /** Which file layout it came from. */
  layout: LayoutName;
}

export interface LoadedDiscriminator {
  model: DiscriminatorModel;
  classNames?: string[];
  layout: LoadedGenerator['layout'];
}

/**
 * Any supported generator file. `config`: an HF config.json or a JSON with BigGAN-PyTorch
 * constructor args ({"G": …}); default: a config file beside the weights.
 */
export function loadGenerator(weights: string, config?: string): LoadedGenerator {
  regularFileSize(weights, 'weights file');
  const file = new WeightsFile(weights);
  const layout = detectLayout(file, 'generator');
  return { ...layout.loadGenerator(file, config), layout: layout.name };
}

/** Any supported discriminator file (BigGAN-PyTorch D.pth, or one of our checkpoints). */
export function loadDiscriminator(weights: string, config?: string): LoadedDiscriminator {
  regularFileSize(weights, 'weights file');
  const file = new WeightsFile(weights);
  const layout = detectLayout(file, 'discriminator');
  if (!layout.loadDiscriminator) throw new UserError(`${weights} is a ${layout.name} generator; those releases have no discriminator`);
  return { ...layout.loadDiscriminator(file, config), layout: layout.name };
}
