/** The page's head: the run's folder, its phase, the progress bar and the tiles of current values. */
import type { RunPhase, RunState } from './run-state.js';
import { duration, loss, num } from './format.js';

const PHASE_TEXT: Record<RunPhase, string> = {
  connecting: 'connecting…',
  waiting: 'waiting for the run to start',
  training: 'training',
  finished: 'finished',
  interrupted: 'interrupted (resumable)',
  collapsed: 'stopped: collapse detected',
  diverged: 'stopped: diverged',
  stopped: 'not running',
};

interface Tile {
  label: string;
  value: string;
  detail?: string;
}

export class SummaryView {
  constructor(private readonly root: HTMLElement) {}

  render(state: RunState): void {
    const $ = <T extends HTMLElement>(sel: string): T => this.root.querySelector<T>(sel)!;
    $('#run-dir').textContent = state.dir;
    $('#run-dir').title = state.dir;
    const phase = state.phase;
    const status = $('#status');
    status.dataset.phase = phase;
    status.textContent = PHASE_TEXT[phase];

    const total = state.totalSteps;
    const step = state.step;
    const fraction = total ? Math.min(step / total, 1) : 0;
    $('#progress-fill').style.width = `${(fraction * 100).toFixed(2)}%`;
    const train = state.last('train');
    const itPerS = typeof train?.it_per_s === 'number' ? train.it_per_s : NaN;
    const eta = phase === 'training' && total && itPerS > 0 ? ` · about ${duration((total - step) / itPerS)} left` : '';
    $('#progress-text').textContent = total ? `iteration ${step.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} (${(fraction * 100).toFixed(1)} %)${eta}` : `iteration ${step}`;

    const ev = state.last('eval');
    const tiles: Tile[] = [
      { label: 'D loss real / fake', value: `${loss(train?.d_loss_real)} / ${loss(train?.d_loss_fake)}`, detail: train ? `at iteration ${train.step}` : undefined },
      { label: 'G loss', value: loss(train?.g_loss), detail: train ? `at iteration ${train.step}` : undefined },
      { label: 'throughput', value: `${num(train?.img_per_s, 3)} img/s`, detail: `${num(train?.it_per_s, 3)} it/s` },
      { label: 'training time', value: duration(train?.elapsed_s), detail: typeof train?.epoch === 'number' ? `epoch ${train.epoch}` : undefined },
      { label: 'Inception Score', value: num(ev?.is_mean, 4), detail: ev ? `± ${num(ev.is_std, 3)} at iteration ${ev.step}` : 'not evaluated' },
      { label: 'FID', value: num(ev?.fid, 4), detail: !ev ? 'not evaluated' : typeof ev.fid === 'number' ? `${num(ev.n)} images, iteration ${ev.step}` : 'needs --stats' },
    ];
    $('#tiles').replaceChildren(...tiles.map((t) => {
      const el = document.createElement('div');
      el.className = 'tile';
      const label = document.createElement('div');
      label.className = 'label';
      label.textContent = t.label;
      const value = document.createElement('div');
      value.className = 'value';
      value.textContent = t.value;
      const detail = document.createElement('div');
      detail.className = 'detail';
      detail.textContent = t.detail ?? '';
      el.append(label, value, detail);
      return el;
    }));

    const banner = $('#banner');
    const notes: string[] = [];
    if (state.closed) notes.push(`The dashboard server stopped (${state.closed}); the page shows the run as it last was. \`biggan dashboard ${state.dir}\` shows it again.`);
    else if (!state.connected && state.dir) notes.push('Lost the connection to the dashboard server; reconnecting…');
    if (state.badLines) notes.push(`${state.badLines} line${state.badLines > 1 ? 's' : ''} of log.jsonl ${state.badLines > 1 ? 'were' : 'was'} not a record (skipped).`);
    banner.hidden = notes.length === 0;
    banner.textContent = notes.join(' ');
  }
}
