/**
 * The training dashboard page: follows the server's event stream (dashboard-protocol.ts) and
 * redraws the summary, the charts, the sample sheets and the config, at most once a frame.
 */
import { DASHBOARD_EVENTS, type DashboardEventName, type DashboardEvents } from '../../src/web/dashboard-protocol.js';
import { RunState } from './run-state.js';
import { LineChart } from './line-chart.js';
import { fidData, isData, lossData, markers, sigmaData, throughputData } from './chart-data.js';
import { SummaryView } from './summary-view.js';
import { SamplesView } from './samples-view.js';
import { ConfigView } from './config-view.js';

const state = new RunState();
const panel = (name: string): HTMLElement => document.querySelector<HTMLElement>(`[data-chart="${name}"]`)!;
const SIGMA_HINT = 'a curve per weight matrix: hover one to name it';
const charts = {
  losses: new LineChart(panel('losses'), { yLabel: 'loss', empty: 'no training records yet' }),
  throughput: new LineChart(panel('throughput'), { yLabel: 'images/s', empty: 'no training records yet' }),
  sigmaG: new LineChart(panel('sigma-G'), { yLabel: 'σ0', hoverLabel: true, hoverHint: SIGMA_HINT, empty: 'no singular values yet (logged every --sv-every iterations)' }),
  sigmaD: new LineChart(panel('sigma-D'), { yLabel: 'σ0', hoverLabel: true, hoverHint: SIGMA_HINT, empty: 'no singular values yet (logged every --sv-every iterations)' }),
  is: new LineChart(panel('is'), { yLabel: 'IS', empty: 'no evaluations (train with --eval-every or --stats)' }),
  fid: new LineChart(panel('fid'), { yLabel: 'FID', empty: 'no FID (train with --stats from biggan fid-stats)' }),
};
const summary = new SummaryView(document.body);
const samples = new SamplesView(document.querySelector<HTMLElement>('#samples')!);
const config = new ConfigView(document.querySelector<HTMLElement>('#config-panel')!);

function render(): void {
  summary.render(state);
  const train = state.ofType('train');
  const sv = state.ofType('sv');
  const evals = state.ofType('eval');
  const marks = markers(state.records);
  charts.losses.update(lossData(train), marks);
  charts.throughput.update(throughputData(train), marks);
  charts.sigmaG.update(sigmaData(sv, 'G'), marks);
  charts.sigmaD.update(sigmaData(sv, 'D'), marks);
  charts.is.update(isData(evals));
  charts.fid.update(fidData(evals.filter((r) => typeof r.fid === 'number')));
  samples.render(state);
  config.render(state);
  document.title = `${state.phase === 'training' ? `${state.step} · ` : ''}biggan dashboard · ${state.dir.split('/').filter(Boolean).pop() ?? ''}`;
}

let scheduled = false;
function scheduleRender(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
}

const handlers: { [K in DashboardEventName]: (data: DashboardEvents[K]) => void } = {
  snapshot: (s) => state.applySnapshot(s),
  records: (r) => state.addRecords(r),
  samples: (s) => {
    state.samples = s;
  },
  config: (c) => {
    state.config = c;
  },
  training: (t) => {
    state.training = t;
  },
  closing: (c) => {
    // the server is going (training ended): no reconnection attempts; it waits for the page to
    // fetch the sheet it shows before it stops
    state.closed = c.reason;
    source.close();
    render();
    void samples.loaded().then(() => fetch('api/closed', { method: 'POST' }));
  },
};

const source = new EventSource('api/events');
for (const name of DASHBOARD_EVENTS) {
  source.addEventListener(name, (e) => {
    (handlers[name] as (d: unknown) => void)(JSON.parse((e as MessageEvent<string>).data));
    scheduleRender();
  });
}
source.addEventListener('error', () => {
  if (state.closed) return;
  state.connected = false; // the browser reconnects by itself; the next snapshot restores everything
  scheduleRender();
});
render();
