/**
 * Interpolation between two images (latent, class or both), played as an animation and exported
 * as a video (MediaRecorder on the canvas stream, WebM) or as a frame sheet (one PNG).
 */
import type { ImageInputs } from '../../src/explore/explorer-state.js';
import { canvasBlob, saveBlob } from './dom.js';
import type { WebGenerator } from './web-generator.js';

export type InterpolationMode = 'both' | 'z' | 'class';

/** Inputs of frame k of n between a and b (linear, as `biggan sample --interpolate`). */
export function frameInputs(a: ImageInputs, b: ImageInputs, mode: InterpolationMode, k: number, n: number): ImageInputs {
  const t = n === 1 ? 0 : k / (n - 1);
  const lerp = (x: Float32Array, y: Float32Array): Float32Array => x.map((v, i) => (1 - t) * v + t * y[i]);
  const z = mode === 'class' ? a.z : lerp(a.z, b.z);
  const classVector = mode === 'z' ? a.classVector : lerp(a.classVector, b.classVector);
  const truncation = (1 - t) * a.truncation + t * b.truncation;
  return { z, classVector, truncation, classId: t <= 0.5 ? a.classId : b.classId };
}

export class Interpolation {
  private frames: ImageData[] = [];
  private timer: number | undefined;
  private token = 0;

  constructor(private readonly canvas: HTMLCanvasElement, private readonly onStatus: (text: string) => void) {}

  get playing(): boolean {
    return this.timer !== undefined;
  }

  get frameCount(): number {
    return this.frames.length;
  }

  /** Renders every frame (progress in the status line), then plays them in a loop. */
  async build(gen: WebGenerator, a: ImageInputs, b: ImageInputs, mode: InterpolationMode, steps: number, fps: number): Promise<void> {
    this.stop();
    const token = ++this.token;
    this.frames = [];
    const R = gen.model.resolution;
    this.canvas.width = R;
    this.canvas.height = R;
    const ctx = this.canvas.getContext('2d')!;
    for (let k = 0; k < steps; k++) {
      const img = await gen.generate(frameInputs(a, b, mode, k, steps));
      if (token !== this.token) return;
      this.frames.push(img);
      ctx.putImageData(img, 0, 0);
      this.onStatus(`interpolation: frame ${k + 1} of ${steps}`);
    }
    this.onStatus(`interpolation: ${steps} frames`);
    this.play(fps);
  }

  play(fps: number): void {
    if (!this.frames.length) return;
    this.stop();
    const ctx = this.canvas.getContext('2d')!;
    let k = 0;
    let dir = 1;
    this.timer = window.setInterval(() => {
      ctx.putImageData(this.frames[k], 0, 0);
      if (k + dir < 0 || k + dir >= this.frames.length) dir = -dir; // ping-pong
      k += this.frames.length > 1 ? dir : 0;
    }, 1000 / fps);
  }

  stop(): void {
    if (this.timer !== undefined) window.clearInterval(this.timer);
    this.timer = undefined;
  }

  cancel(): void {
    this.token++;
    this.stop();
  }

  /** One pass through the frames recorded as WebM. */
  async exportVideo(fps: number, name: string): Promise<void> {
    if (!this.frames.length) throw new Error('build an interpolation first');
    if (typeof MediaRecorder === 'undefined') throw new Error('this browser cannot record video (no MediaRecorder): use the frame sheet');
    this.stop();
    const ctx = this.canvas.getContext('2d')!;
    const stream = this.canvas.captureStream(fps);
    const type = ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm'].find((t) => MediaRecorder.isTypeSupported(t)) ?? '';
    const rec = new MediaRecorder(stream, type ? { mimeType: type } : {});
    const chunks: Blob[] = [];
    rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    const done = new Promise<void>((resolve) => { rec.onstop = () => resolve(); });
    rec.start();
    for (const f of this.frames) {
      ctx.putImageData(f, 0, 0);
      await new Promise((r) => setTimeout(r, 1000 / fps));
    }
    rec.stop();
    await done;
    saveBlob(new Blob(chunks, { type: 'video/webm' }), name);
    this.play(fps);
  }

  /** All frames side by side in rows of up to 8, as one PNG. */
  async exportSheet(name: string): Promise<void> {
    if (!this.frames.length) throw new Error('build an interpolation first');
    const R = this.frames[0].width;
    const cols = Math.min(8, this.frames.length);
    const rows = Math.ceil(this.frames.length / cols);
    const sheet = document.createElement('canvas');
    sheet.width = cols * R;
    sheet.height = rows * R;
    const ctx = sheet.getContext('2d')!;
    this.frames.forEach((f, i) => ctx.putImageData(f, (i % cols) * R, Math.floor(i / cols) * R));
    saveBlob(await canvasBlob(sheet), name);
  }
}
