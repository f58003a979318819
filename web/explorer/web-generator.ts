/**
 * The generator in the page: one onnxruntime-web session at batch 1 (BigGAN-deep: fed the BN
 * statistics rows its truncation selects), runs queued one at a time
 * (a session is not re-entrant), images as ImageData at the model's resolution with the CLI's
 * float-to-byte step, round((x + 1) * 127.5) clamped.
 */
import type * as Ort from 'onnxruntime-web';
import type { ImageInputs } from '../../src/explore/explorer-state.js';
import type { SiteModel } from '../../src/explore/site-model.js';
import { statRowSelection } from '../../src/nn/stat-row-selection.js';
import type { OrtModule } from './backend.js';

export class WebGenerator {
  private queue: Promise<unknown> = Promise.resolve();
  /** Milliseconds of the last run (shown in the status line, read by the benchmark). */
  lastMs = 0;

  /** What the graph takes: unconditional generators have no class input, so only these are fed. */
  private readonly inputNames: Set<string>;

  constructor(private readonly ort: OrtModule, private readonly session: Ort.InferenceSession, readonly model: SiteModel) {
    this.inputNames = new Set(session.inputNames);
  }

  generate(inputs: ImageInputs): Promise<ImageData> {
    const run = this.queue.then(() => this.run(inputs));
    this.queue = run.catch(() => {});
    return run;
  }

  private async run(inputs: ImageInputs): Promise<ImageData> {
    const { zDim, numClasses, resolution: R, usesTruncation } = this.model;
    const feeds: Record<string, Ort.Tensor> = {
      z: new this.ort.Tensor('float32', inputs.z, [1, zDim]),
      class_vector: new this.ort.Tensor('float32', inputs.classVector, [1, numClasses]),
    };
    if (usesTruncation) {
      const sel = statRowSelection(inputs.truncation, this.model.truncationStatRows!);
      feeds.bn_rows = new this.ort.Tensor('int64', BigInt64Array.from(sel.rows, (r) => BigInt(r)), [2]);
      feeds.bn_row_weights = new this.ort.Tensor('float32', Float32Array.from(sel.weights), [2]);
    }
    for (const name of Object.keys(feeds)) if (!this.inputNames.has(name)) delete feeds[name];
    const t0 = performance.now();
    const out = await this.session.run(feeds);
    const image = out.image;
    const data = (await image.getData()) as Float32Array;
    this.lastMs = performance.now() - t0;
    for (const t of Object.values(out)) t.dispose();
    const rgba = new Uint8ClampedArray(R * R * 4);
    const plane = R * R;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) rgba[p * 4 + c] = Math.round((data[c * plane + p] + 1) * 127.5);
      rgba[p * 4 + 3] = 255;
    }
    return new ImageData(rgba, R, R);
  }
}
