/**
 * The BigGAN explorer: the generator runs in this page (onnxruntime-web), the URL fragment holds
 * the whole state, and a seed, class and truncation draw what `biggan sample` draws for them
 * (same latents, truncation trick and class vectors: src/explore/explorer-state.ts).
 */
import { classLabel, latentStyle, UserError } from '../../src/core.js';
import { crossover, genomeClasses, genomeOf, mutate, type Genome } from '../../src/explore/breeding.js';
import { formatFragment, imageInputs, parseFragment, type ExplorerState, type ImageInputs } from '../../src/explore/explorer-state.js';
import { parseSiteModel, type SiteModel } from '../../src/explore/site-model.js';
import { chooseRuntime, createSession, type Runtime } from './backend.js';
import { ClassPicker } from './class-picker.js';
import { $, canvasBlob, el, saveBlob } from './dom.js';
import { Interpolation, type InterpolationMode } from './interpolation.js';
import { downloadModel } from './model-download.js';
import { WebGenerator } from './web-generator.js';

interface Shown {
  state: ExplorerState;
  inputs: ImageInputs;
}

interface HistoryEntry extends Shown {
  thumb: string;
  note: string;
}

/** What tests and the benchmark read (window.bigganExplorer). */
export interface ExplorerHandle {
  runtime: string;
  timings: { downloadMs: number; sessionMs: number; firstImageMs: number; fromCache: boolean };
  /** Draws a fragment's image without showing it; resolves to the milliseconds onnxruntime took. */
  time(fragment: string): Promise<number>;
}

declare global {
  interface Window { bigganExplorer?: ExplorerHandle }
}

const MAX_HISTORY = 40;
const FPS = 12;

function setStatus(text: string): void {
  $('#status').textContent = text;
}

function setProgress(fraction: number | undefined): void {
  const bar = $<HTMLProgressElement>('#progress');
  bar.hidden = fraction === undefined;
  if (fraction !== undefined) bar.value = fraction;
}

function showError(message: string): void {
  const box = $('#error');
  box.textContent = message;
  box.hidden = false;
}

function clearError(): void {
  $('#error').hidden = true;
}

function messageOf(err: unknown): string {
  return err instanceof UserError || err instanceof Error ? err.message : String(err);
}

async function loadModelInfo(): Promise<SiteModel> {
  const res = await fetch('model.json', { cache: 'no-cache' });
  if (!res.ok) throw new Error(`model.json could not be loaded (HTTP ${res.status}): is this an exported explorer site?`);
  return parseSiteModel(await res.json());
}

class Explorer {
  private current!: Shown;
  private parentB: Shown | undefined;
  private history: HistoryEntry[] = [];
  private pending: { state: ExplorerState; note: string; push: boolean } | undefined;
  private busy = false;
  private gridToken = 0;
  private breedCounter = 1;
  private readonly canvas = $<HTMLCanvasElement>('#image');
  private readonly picker: ClassPicker;
  private readonly interp: Interpolation;

  constructor(private readonly model: SiteModel, private readonly gen: WebGenerator, private readonly runtime: Runtime) {
    this.canvas.width = model.resolution;
    this.canvas.height = model.resolution;
    // an unconditional generator has one (ignored) class: nothing to choose
    if (model.numClasses === 1) $('#classes').closest<HTMLElement>('.group')!.hidden = true;
    this.picker = new ClassPicker($('#classes'), model, (classes) => this.request({ ...this.current.state, classes }, 'classes changed'));
    this.interp = new Interpolation($<HTMLCanvasElement>('#interp-canvas'), (t) => setStatus(t));
    this.wire();
  }

  private label(id: number): string {
    return classLabel(id, this.model.numClasses, this.model.classNames);
  }

  private runtimeState(): Pick<ExplorerState, 'backend' | 'threads'> {
    const s = this.current?.state;
    return { ...(s?.backend ? { backend: s.backend } : {}), ...(s?.threads ? { threads: s.threads } : {}) };
  }

  // --- drawing the main image ------------------------------------------------------------------

  /** Shows a state; while a render runs, only the latest request is kept (sliders stay responsive). */
  request(state: ExplorerState, note: string, push = true): void {
    this.pending = { state, note, push };
    if (!this.busy) void this.drain();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    while (this.pending) {
      const { state, note, push } = this.pending;
      this.pending = undefined;
      await this.show(state, note, push);
    }
    this.busy = false;
  }

  private async show(state: ExplorerState, note: string, push: boolean): Promise<void> {
    let inputs: ImageInputs;
    try {
      inputs = imageInputs(this.model, state);
    } catch (err) {
      showError(messageOf(err));
      return;
    }
    clearError();
    const fragment = formatFragment(state);
    setStatus('generating…');
    const image = await this.gen.generate(inputs);
    if (push && this.current) this.remember(this.current, note);
    this.current = { state, inputs };
    this.canvas.getContext('2d')!.putImageData(image, 0, 0);
    if (location.hash !== fragment) history.replaceState(null, '', fragment);
    this.canvas.dataset.rendered = fragment;
    this.syncControls();
    setStatus(`${this.label(inputs.classId)} · seed ${state.seed} · ${this.gen.lastMs.toFixed(0)} ms`);
  }

  private remember(entry: Shown, note: string): void {
    const thumb = el('canvas', {}) as HTMLCanvasElement;
    thumb.width = 64;
    thumb.height = 64;
    thumb.getContext('2d')!.drawImage(this.canvas, 0, 0, 64, 64);
    this.history.unshift({ ...entry, thumb: thumb.toDataURL(), note });
    this.history.length = Math.min(this.history.length, MAX_HISTORY);
    this.renderHistory();
  }

  private renderHistory(): void {
    const list = $('#history');
    list.replaceChildren(...this.history.map((h, i) => {
      const b = el('button', { type: 'button', class: 'tile small', title: `${formatFragment(h.state)} (${h.note})`, 'aria-label': `back to ancestor ${i + 1}: ${this.label(h.inputs.classId)}` },
        el('img', { src: h.thumb, alt: '' }), el('span', {}, h.note));
      b.addEventListener('click', () => this.request(h.state, 'back in history'));
      return b;
    }));
  }

  private syncControls(): void {
    const s = this.current.state;
    $<HTMLInputElement>('#seed').value = String(s.seed);
    $('#seed-note').textContent = s.z ? 'bred latents (in the URL)' : '';
    const t = $<HTMLInputElement>('#truncation');
    const on = $<HTMLInputElement>('#truncate');
    if (this.model.usesTruncation) t.value = String(s.truncation ?? 1);
    else {
      on.checked = s.truncation !== undefined;
      if (s.truncation !== undefined) t.value = String(s.truncation);
      t.disabled = !on.checked;
    }
    $('#truncation-value').textContent = s.truncation === undefined ? 'none' : s.truncation.toFixed(2);
    const classes = s.classes ?? [{ id: this.current.inputs.classId, weight: 1 }];
    this.picker.show(classes, !s.classes);
    $<HTMLAnchorElement>('#share').href = location.href;
  }

  // --- state edits ---------------------------------------------------------------------------------

  private withSeed(seed: number): ExplorerState {
    const { z: _z, ...rest } = this.current.state;
    return { ...rest, seed: seed >>> 0 };
  }

  private withTruncation(t: number | undefined): ExplorerState {
    const s = this.current.state;
    const next: ExplorerState = { ...s, truncation: t };
    if (t === undefined) delete next.truncation;
    // bred latents of BigGAN-deep scale with the truncation, as seeded ones do
    if (s.z && this.model.usesTruncation) {
      const ratio = (t ?? 1) / (s.truncation ?? 1);
      next.z = s.z.map((v) => v * ratio);
    }
    return next;
  }

  private randomSeed(): number {
    return crypto.getRandomValues(new Uint32Array(1))[0] % 1_000_000;
  }

  private genome(shown: Shown): Genome {
    return genomeOf(shown.inputs);
  }

  private stateOf(g: Genome, note: Shown): ExplorerState {
    return { ...this.runtimeState(), seed: note.state.seed, z: g.z, classes: genomeClasses(g), ...(note.state.truncation !== undefined ? { truncation: note.state.truncation } : {}) };
  }

  // --- the grid: neighbour seeds, children, crossovers ------------------------------------------------

  private async fillGrid(title: string, states: { state: ExplorerState; note: string }[]): Promise<void> {
    const token = ++this.gridToken;
    $('#grid-title').textContent = title;
    const grid = $('#grid');
    const tiles = states.map((s, i) => {
      const c = el('canvas', { width: String(this.model.resolution), height: String(this.model.resolution) }) as HTMLCanvasElement;
      const b = el('button', { type: 'button', class: 'tile', 'data-index': String(i), title: s.note, 'aria-label': `${s.note} (key ${i + 1})` }, c, el('span', { class: 'key' }, String(i + 1)));
      b.addEventListener('click', () => this.request(s.state, s.note));
      return { b, c, s };
    });
    grid.replaceChildren(...tiles.map((t) => t.b));
    grid.dataset.filled = '0';
    let k = 0;
    for (const t of tiles) {
      let inputs: ImageInputs;
      try {
        inputs = imageInputs(this.model, t.s.state);
      } catch (err) {
        showError(messageOf(err));
        return;
      }
      const img = await this.gen.generate(inputs);
      if (token !== this.gridToken) return;
      t.c.getContext('2d')!.putImageData(img, 0, 0);
      t.b.title = `${t.s.note}: ${this.label(inputs.classId)}`;
      grid.dataset.filled = String(++k);
    }
  }

  neighbours(): void {
    const s = this.current.state;
    void this.fillGrid('Neighbour seeds', Array.from({ length: 8 }, (_, i) => ({ state: this.withSeed(s.seed + i + 1), note: `seed ${s.seed + i + 1}` })));
  }

  children(): void {
    const parent = this.current;
    const strength = Number($<HTMLInputElement>('#strength').value);
    const drift = Number($<HTMLInputElement>('#drift').value);
    const style = latentStyle(this.model);
    const base = this.breedCounter;
    this.breedCounter += 8;
    void this.fillGrid(`Children (strength ${strength.toFixed(2)}, class drift ${drift.toFixed(2)})`, Array.from({ length: 8 }, (_, i) => {
      const g = mutate(this.genome(parent), { strength, classDrift: drift, seed: parent.state.seed * 997 + base + i, truncation: parent.state.truncation, style });
      return { state: this.stateOf(g, parent), note: `child ${i + 1} of seed ${parent.state.seed}` };
    }));
  }

  crossovers(): void {
    const a = this.current;
    const b = this.parentB;
    if (!b) {
      showError('pin a second parent first (button "Pin as parent B" or key B)');
      return;
    }
    const weight = Number($<HTMLInputElement>('#cross-weight').value);
    const base = this.breedCounter;
    this.breedCounter += 8;
    void this.fillGrid(`Crossovers (${Math.round(weight * 100)} % parent A)`, Array.from({ length: 8 }, (_, i) => {
      const g = crossover(this.genome(a), this.genome(b), weight, base + i);
      return { state: this.stateOf(g, a), note: `crossover ${i + 1}` };
    }));
  }

  pinParentB(): void {
    this.parentB = this.current;
    const thumb = $<HTMLCanvasElement>('#parent-b');
    thumb.width = this.model.resolution;
    thumb.height = this.model.resolution;
    thumb.getContext('2d')!.drawImage(this.canvas, 0, 0);
    thumb.title = formatFragment(this.current.state);
    $('#parent-b-label').textContent = `${this.label(this.current.inputs.classId)}, seed ${this.current.state.seed}`;
  }

  // --- interpolation --------------------------------------------------------------------------------

  async interpolate(): Promise<void> {
    if (!this.parentB) {
      showError('pin the other end first (button "Pin as parent B" or key B)');
      return;
    }
    const mode = $<HTMLSelectElement>('#interp-mode').value as InterpolationMode;
    const steps = Number($<HTMLInputElement>('#interp-steps').value);
    await this.interp.build(this.gen, this.current.inputs, this.parentB.inputs, mode, steps, FPS);
  }

  togglePlay(): void {
    if (this.interp.playing) this.interp.stop();
    else if (this.interp.frameCount) this.interp.play(FPS);
    else void this.interpolate();
  }

  // --- download ------------------------------------------------------------------------------------

  async download(): Promise<void> {
    const s = this.current.state;
    const cls = this.label(this.current.inputs.classId).replace(/[^\w]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
    saveBlob(await canvasBlob(this.canvas), `biggan-${cls}-seed${s.seed}${s.truncation !== undefined ? `-t${s.truncation}` : ''}.png`);
  }

  // --- controls and keys -----------------------------------------------------------------------------

  private wire(): void {
    const seed = $<HTMLInputElement>('#seed');
    seed.addEventListener('change', () => {
      const v = Number(seed.value);
      if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) this.request(this.withSeed(v), 'new seed');
      else showError(`seed must be an integer in 0..4294967295, got ${seed.value}`);
    });
    $('#prev-seed').addEventListener('click', () => this.request(this.withSeed(Math.max(0, this.current.state.seed - 1)), 'previous seed'));
    $('#next-seed').addEventListener('click', () => this.request(this.withSeed(this.current.state.seed + 1), 'next seed'));
    $('#random').addEventListener('click', () => this.request(this.withSeed(this.randomSeed()), 'random seed'));

    const t = $<HTMLInputElement>('#truncation');
    const on = $<HTMLInputElement>('#truncate');
    if (this.model.usesTruncation) {
      Object.assign(t, { min: '0.02', max: '1', step: '0.01' });
      $('#truncate-label').hidden = true;
    } else {
      Object.assign(t, { min: '0.1', max: '2', step: '0.05' });
    }
    const fromSlider = (): number | undefined => (this.model.usesTruncation || on.checked ? Number(t.value) : undefined);
    t.addEventListener('input', () => {
      $('#truncation-value').textContent = Number(t.value).toFixed(2);
      this.request(this.withTruncation(fromSlider()), 'truncation', false);
    });
    on.addEventListener('change', () => {
      t.disabled = !on.checked;
      this.request(this.withTruncation(fromSlider()), 'truncation');
    });

    $('#download').addEventListener('click', () => void this.download());
    $('#copy-link').addEventListener('click', () => void navigator.clipboard?.writeText(location.href).then(() => setStatus('link copied'), () => setStatus(location.href)));
    $('#neighbours').addEventListener('click', () => this.neighbours());
    $('#children').addEventListener('click', () => this.children());
    $('#crossover').addEventListener('click', () => this.crossovers());
    $('#pin').addEventListener('click', () => this.pinParentB());
    $('#interp-build').addEventListener('click', () => void this.interpolate());
    $('#interp-play').addEventListener('click', () => this.togglePlay());
    $('#interp-video').addEventListener('click', () => void this.interp.exportVideo(FPS, 'biggan-interpolation.webm').catch((e) => showError(messageOf(e))));
    $('#interp-sheet').addEventListener('click', () => void this.interp.exportSheet('biggan-interpolation.png').catch((e) => showError(messageOf(e))));
    for (const id of ['strength', 'drift', 'cross-weight']) {
      const input = $<HTMLInputElement>(`#${id}`);
      const out = $(`#${id}-value`);
      input.addEventListener('input', () => { out.textContent = Number(input.value).toFixed(2); });
    }

    window.addEventListener('hashchange', () => {
      if (this.canvas.dataset.rendered === location.hash) return;
      try {
        this.request(parseFragment(location.hash, this.model), 'link opened');
      } catch (err) {
        showError(messageOf(err));
      }
    });
    document.addEventListener('keydown', (e) => this.key(e));
  }

  private key(e: KeyboardEvent): void {
    const target = e.target as HTMLElement;
    if (target.closest('input[type=search], input[type=number], select, textarea') || e.ctrlKey || e.metaKey || e.altKey) return;
    const s = this.current.state;
    const tDelta = (d: number): void => {
      const t = $<HTMLInputElement>('#truncation');
      const v = Math.min(Number(t.max), Math.max(Number(t.min), (s.truncation ?? (this.model.usesTruncation ? 1 : Number(t.max))) + d));
      this.request(this.withTruncation(Math.round(v * 100) / 100), 'truncation');
    };
    const actions: Record<string, () => void> = {
      ArrowRight: () => this.request(this.withSeed(s.seed + 1), 'next seed'),
      ArrowLeft: () => this.request(this.withSeed(Math.max(0, s.seed - 1)), 'previous seed'),
      r: () => this.request(this.withSeed(this.randomSeed()), 'random seed'),
      v: () => this.neighbours(),
      c: () => this.children(),
      x: () => this.crossovers(),
      b: () => this.pinParentB(),
      i: () => void this.interpolate(),
      ' ': () => this.togglePlay(),
      d: () => void this.download(),
      '[': () => tDelta(-0.05),
      ']': () => tDelta(0.05),
      Backspace: () => { if (this.history[0]) this.request(this.history[0].state, 'back in history'); },
      '/': () => $<HTMLInputElement>('#class-search').focus(),
    };
    const tile = /^[1-8]$/.test(e.key) ? document.querySelector<HTMLButtonElement>(`#grid .tile[data-index="${Number(e.key) - 1}"]`) : null;
    const act = tile ? () => tile.click() : actions[e.key] ?? actions[e.key.toLowerCase()];
    if (!act) return;
    e.preventDefault();
    act();
  }

  /** The first image. */
  async start(state: ExplorerState): Promise<void> {
    await this.show(state, 'start', false);
  }

  handle(timings: ExplorerHandle['timings']): ExplorerHandle {
    return {
      runtime: this.runtime.label,
      timings,
      time: async (fragment: string) => {
        await this.gen.generate(imageInputs(this.model, parseFragment(fragment, this.model)));
        return this.gen.lastMs;
      },
    };
  }
}

async function main(): Promise<void> {
  document.body.dataset.state = 'loading';
  const t0 = performance.now();
  const model = await loadModelInfo();
  document.title = `${model.title} explorer · biggan-ts`;
  $('#title').textContent = model.title;
  $('#model-facts').textContent = `${model.numClasses} classes · z ${model.zDim} · ${(model.bytes / 2 ** 20).toFixed(0)} MiB${model.fp16 ? ' (fp16)' : ''}`;

  let state: ExplorerState;
  try {
    state = parseFragment(location.hash, model);
  } catch (err) {
    showError(`${messageOf(err)}: showing seed 0 instead`);
    state = { seed: 0 };
  }
  if (state.truncation === undefined && model.usesTruncation) state.truncation = 1;

  const runtime = await chooseRuntime(state.backend, state.threads);
  $('#backend').textContent = runtime.label;
  if (runtime.note) showError(runtime.note);

  setStatus('downloading the model…');
  const tDl = performance.now();
  const dl = await downloadModel(model, (loaded, total) => {
    setProgress(loaded / total);
    setStatus(`downloading the model: ${(loaded / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(1)} MiB`);
  });
  const downloadMs = performance.now() - tDl;
  setProgress(undefined);
  setStatus(`creating the inference session (${runtime.label})…`);
  const tS = performance.now();
  const session = await createSession(runtime, dl.bytes);
  const sessionMs = performance.now() - tS;

  const gen = new WebGenerator(runtime.ort, session, model);
  const app = new Explorer(model, gen, runtime);
  await app.start(state);
  const timings = { downloadMs, sessionMs, firstImageMs: performance.now() - t0, fromCache: dl.fromCache };
  window.bigganExplorer = app.handle(timings);
  document.body.dataset.state = 'ready';
  app.neighbours();
}

main().catch((err: unknown) => {
  document.body.dataset.state = 'error';
  showError(messageOf(err));
  setStatus('stopped');
  setProgress(undefined);
});
