/**
 * The sample sheets (fixed latents, G_ema): the newest one, and a slider through the earlier
 * ones. While the slider is at the newest sheet it follows new ones as they are written; moved
 * back, it stays where it was put.
 */
import type { SampleSheetEntry } from '../../src/web/dashboard-protocol.js';
import type { RunState } from './run-state.js';
import { num } from './format.js';

export class SamplesView {
  private sheets: SampleSheetEntry[] = [];
  private readonly slider: HTMLInputElement;
  private readonly img: HTMLImageElement;
  private readonly link: HTMLAnchorElement;
  private readonly caption: HTMLElement;
  private readonly empty: HTMLElement;
  private state: RunState | null = null;

  constructor(root: HTMLElement) {
    this.slider = root.querySelector<HTMLInputElement>('#sheet-slider')!;
    this.img = root.querySelector<HTMLImageElement>('#sheet')!;
    this.link = root.querySelector<HTMLAnchorElement>('#sheet-link')!;
    this.caption = root.querySelector<HTMLElement>('#sheet-caption')!;
    this.empty = root.querySelector<HTMLElement>('#sheet-empty')!;
    this.slider.addEventListener('input', () => this.show());
  }

  render(state: RunState): void {
    this.state = state;
    const atNewest = this.sheets.length === 0 || Number(this.slider.value) >= this.sheets.length - 1;
    const current = this.sheets[Number(this.slider.value)]?.name;
    this.sheets = state.samples;
    this.slider.max = String(Math.max(this.sheets.length - 1, 0));
    this.slider.disabled = this.sheets.length < 2;
    const kept = this.sheets.findIndex((s) => s.name === current);
    this.slider.value = String(atNewest || kept < 0 ? this.sheets.length - 1 : kept);
    this.show();
  }

  /** Resolves once the sheet on show has loaded (or failed to). */
  loaded(): Promise<void> {
    if (!this.img.getAttribute('src') || this.img.complete) return Promise.resolve();
    return new Promise((resolve) => {
      this.img.addEventListener('load', () => resolve(), { once: true });
      this.img.addEventListener('error', () => resolve(), { once: true });
    });
  }

  private show(): void {
    const i = Number(this.slider.value);
    const sheet = this.sheets[i];
    this.empty.hidden = !!sheet;
    this.link.hidden = !sheet;
    if (!sheet) {
      this.caption.textContent = '';
      return;
    }
    if (this.img.getAttribute('src') !== sheet.url) this.img.src = sheet.url;
    this.link.href = sheet.url;
    // the log's samples record for this sheet carries the step of final.png and the diversity
    const rec = this.state?.lastWhere((r) => r.type === 'samples' && r.file === `samples/${sheet.name}`);
    const step = sheet.step ?? rec?.step;
    const what = sheet.step === null ? `final${step !== undefined ? ` · iteration ${step}` : ''}` : `iteration ${sheet.step}`;
    const diversity = typeof rec?.diversity === 'number' ? ` · diversity ${num(rec.diversity, 3)}` : '';
    this.caption.textContent = `${what}${diversity} · sheet ${i + 1} of ${this.sheets.length}`;
  }
}
