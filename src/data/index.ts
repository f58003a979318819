/** The training data pipeline: sources, preparation cache, batch loader, synthetic data. */
export { centerCropBox, centerCrop, areaResize, areaResizeExact, cropAndResize } from './area-resize.js';
export { decodeImage, sniffImageFormat, imageDecodeCount, BadImageError, type RgbImage } from './decode.js';
export { openImageSource, FolderSource, Cifar10Source, NpySource, parseNpySpec, type ImageSource } from './sources/index.js';
export { openDataset, PreparedDataset, readPreparedHeader, defaultCacheDirs, type PrepareOptions, type PreparedHeader } from './prepared-dataset.js';
export { BatchLoader, imageToNCHW, type Batch, type BatchLoaderOptions, type LoaderState } from './batch-loader.js';
export {
  generateSynthetic, syntheticDataset, renderSyntheticImage, classifySynthetic, classifySyntheticBatch,
  syntheticClassNames, syntheticClassHue, SYNTHETIC_DEFAULT_CLASSES, SYNTHETIC_DEFAULT_RESOLUTION,
  type SyntheticOptions, type SyntheticData,
} from './synthetic.js';
