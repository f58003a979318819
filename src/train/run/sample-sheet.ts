/**
 * Fixed-latent sample sheets during training: the same latents and classes every
 * time (from the run's 'sheet' stream), one row per class shown (up to 10 classes,
 * evenly spaced over the label range) with its name at the left, `perClass` images
 * per row, rendered by the EMA generator in eval mode. The generator graph takes its weights as inputs, so it
 * is compiled once and reused as the weights change.
 */
import { CompiledGraph, Feed, RuntimeOptions } from '../../engine/runtime.js';
import type { ExportedModel } from '../../engine/onnx-export.js';
import type { GeneratorModel } from '../../models/interfaces.js';
import { generatorGraph } from '../../sample/sampler.js';
import { imagesToGrid, labelledTileScale, writePng, type RgbaImage } from '../../image/image-grid.js';
import type { LatentDistribution } from './latents.js';
import { drawLatents, streamRng } from './latents.js';
import { sheetDiversity } from './collapse-watch.js';

export interface SheetOptions {
  seed: number;
  latent: LatentDistribution;
  zStd: number;
  classNames: readonly string[];
  /** Classes shown (default min(10, numClasses)). */
  classes?: number;
  perClass?: number;
  /** Images per forward pass (default min(n, 20)). */
  batch?: number;
}

export interface SheetResult {
  images: Float32Array;
  n: number;
  diversity: number;
}

/**
 * The sheet's layout: one row per class (perClass images of it), the class name at the
 * left of its row (the id only where the data has no names), tiles magnified to at least
 * MIN_LABELLED_TILE pixels (32 px tiles are shown 3x).
 */
export function sheetGrid(images: Float32Array, resolution: number, classIds: readonly number[], classNames: readonly string[], perClass: number): RgbaImage {
  const rowLabels = classIds.filter((_, i) => i % perClass === 0).map((c) => classNames[c] ?? String(c));
  return imagesToGrid(images, classIds.length, 3, resolution, resolution, { columns: perClass, rowLabels, tileScale: labelledTileScale(resolution) });
}

export class SampleSheet {
  readonly n: number;
  readonly classIds: number[];
  private readonly z: Float32Array;
  private readonly classVectors: Float32Array;
  private graph: Promise<{ graph: CompiledGraph; model: ExportedModel }> | null = null;

  constructor(
    private readonly G: GeneratorModel,
    private readonly opts: SheetOptions,
    private readonly runtime: RuntimeOptions = {},
  ) {
    const C = G.numClasses;
    const shown = Math.min(opts.classes ?? 10, C);
    const per = opts.perClass ?? 8;
    const classes = Array.from({ length: shown }, (_, i) => Math.floor((i * C) / shown));
    this.classIds = classes.flatMap((c) => Array<number>(per).fill(c));
    this.n = this.classIds.length;
    this.z = drawLatents(streamRng(opts.seed, 'sheet', 0), this.n * G.zDim, opts.latent, opts.zStd);
    this.classVectors = new Float32Array(this.n * C);
    this.classIds.forEach((c, i) => (this.classVectors[i * C + c] = 1));
  }

  private batch(): number {
    return Math.min(this.opts.batch ?? 20, this.n);
  }

  private compiled(): Promise<{ graph: CompiledGraph; model: ExportedModel }> {
    this.graph ??= (async () => {
      const model = await generatorGraph(this.G, { batch: this.batch(), paramInputs: true });
      return { graph: await CompiledGraph.create(model, this.runtime), model };
    })();
    return this.graph;
  }

  /** Generates the sheet's images with the generator's current weights. */
  async generate(): Promise<SheetResult> {
    const { graph, model } = await this.compiled();
    const G = this.G;
    const B = this.batch();
    const R = G.resolution;
    const per = 3 * R * R;
    const C = G.numClasses;
    const feeds: Record<string, Feed> = {};
    for (const inp of model.inputs) if (inp.param) feeds[inp.name] = inp.param.data;
    const images = new Float32Array(this.n * per);
    const z = new Float32Array(B * G.zDim);
    const cv = new Float32Array(B * C);
    for (let start = 0; start < this.n; start += B) {
      const count = Math.min(B, this.n - start);
      z.fill(0);
      cv.fill(0);
      z.set(this.z.subarray(start * G.zDim, (start + count) * G.zDim));
      cv.set(this.classVectors.subarray(start * C, (start + count) * C));
      const r = await graph.run({ ...feeds, z, class_vector: cv });
      images.set((r.image as Float32Array).subarray(0, count * per), start * per);
    }
    return { images, n: this.n, diversity: sheetDiversity(images, per, this.classIds) };
  }

  /** Generates and writes the labelled PNG sheet. */
  async write(file: string): Promise<SheetResult> {
    const res = await this.generate();
    const grid = sheetGrid(res.images, this.G.resolution, this.classIds, this.opts.classNames, this.opts.perClass ?? 8);
    writePng(file, grid.rgba, grid.width, grid.height);
    return res;
  }

  async release(): Promise<void> {
    if (this.graph) await (await this.graph).graph.release();
    this.graph = null;
  }
}
