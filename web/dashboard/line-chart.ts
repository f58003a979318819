/**
 * One chart panel on uPlot: created at the first data, rebuilt when its series change (a
 * network's layers appear with the first σ0 record), otherwise fed new columns in place. It
 * follows its container's width, keeps a zoom the user dragged (double-click returns to all
 * the data) while points arrive, and draws vertical markers (resume, collapse). Without data
 * it shows a note saying what would fill it.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { ChartData, Marker } from './chart-data.js';
import { num } from './format.js';

export interface ChartOptions {
  yLabel: string;
  height?: number;
  /** Hide the legend; hovering names the nearest series instead (many series: σ0 per layer). */
  hoverLabel?: boolean;
  /** The readout's text while no series is hovered. */
  hoverHint?: string;
  /** Shown while there is no data. */
  empty: string;
}

const AXIS = '#8b95a7';
const GRID = 'rgba(148, 163, 184, 0.12)';
const FONT = '12px system-ui, sans-serif';

function axis(label: string): uPlot.Axis {
  return {
    label, stroke: AXIS, font: FONT, labelFont: FONT, labelSize: 18, size: 52,
    grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 },
    values: (_u, splits) => splits.map((v) => num(v, 3)),
  };
}

/** Draws the markers as labelled vertical lines over the plot area. */
function markerPlugin(get: () => Marker[]): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        const { top, height, left, width } = u.bbox;
        ctx.save();
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        for (const m of get()) {
          const x = Math.round(u.valToPos(m.step, 'x', true));
          if (x < left || x > left + width) continue;
          ctx.strokeStyle = m.color;
          ctx.fillStyle = m.color;
          ctx.lineWidth = devicePixelRatio;
          ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, top);
          ctx.lineTo(x, top + height);
          ctx.stroke();
          ctx.fillText(m.label, x + 4 * devicePixelRatio, top + 12 * devicePixelRatio);
        }
        ctx.restore();
      },
    },
  };
}

export class LineChart {
  private plot: uPlot | null = null;
  private signature = '';
  private zoomed = false;
  /** The series the cursor is nearest (hoverLabel charts). */
  private focused: number | null = null;
  private markers: Marker[] = [];
  private readonly plotBox: HTMLElement;
  private readonly note: HTMLElement;
  private readonly readout: HTMLElement | null;

  /** `panel` holds a .chart element (the plot) and, for hoverLabel charts, a .readout element. */
  constructor(private readonly panel: HTMLElement, private readonly opts: ChartOptions) {
    this.plotBox = panel.querySelector<HTMLElement>('.chart')!;
    this.readout = panel.querySelector<HTMLElement>('.readout');
    this.note = document.createElement('p');
    this.note.className = 'empty';
    this.note.textContent = opts.empty;
    this.plotBox.append(this.note);
    if (this.readout) this.readout.textContent = opts.hoverHint ?? '';
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(this.plotBox);
  }

  update(data: ChartData, markers: Marker[] = []): void {
    this.markers = markers;
    const points = data.columns[0].length;
    // for tests and people alike: how many iterations the chart shows
    this.panel.dataset.points = String(points);
    this.note.hidden = points > 0;
    this.panel.classList.toggle('no-data', points === 0);
    if (!points) {
      this.plot?.destroy();
      this.plot = null;
      this.signature = '';
      return;
    }
    const signature = JSON.stringify(data.series);
    if (signature !== this.signature || !this.plot) {
      this.plot?.destroy();
      this.plot = this.create(data);
      this.signature = signature;
      this.zoomed = false;
      this.focused = null;
    } else {
      this.plot.setData(data.columns as uPlot.AlignedData, !this.zoomed);
      if (this.zoomed) this.plot.redraw(false);
    }
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(this.plotBox.clientWidth, 200), height: this.opts.height ?? 230 };
  }

  private create(data: ChartData): uPlot {
    const hover = this.opts.hoverLabel ?? false;
    const series: uPlot.Series[] = [
      { label: 'iteration', value: (_u, v) => (v === null ? '–' : String(v)) },
      ...data.series.map((s): uPlot.Series => ({
        label: s.label, stroke: s.color, width: s.width ?? 1.5, dash: s.dash, spanGaps: true,
        value: (_u, v) => num(v),
      })),
    ];
    const axes = [axis('iteration'), axis(this.opts.yLabel)];
    const plot = new uPlot({
      ...this.size(),
      series,
      axes,
      scales: { x: { time: false } },
      legend: { show: !hover, live: true },
      cursor: { drag: { x: true, y: false }, focus: { prox: hover ? 24 : -1 } },
      focus: { alpha: hover ? 0.25 : 1 },
      plugins: [markerPlugin(() => this.markers)],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width > 0) this.zoomed = true;
        }],
        setCursor: [(u) => this.showReadout(u)],
        setSeries: [(u, idx, change) => {
          // uPlot passes the change ({show} or {focus}), though its types say Series
          const { focus } = change as { focus?: boolean };
          if (focus !== undefined) this.focused = focus && idx !== null && idx > 0 ? idx : null;
          this.showReadout(u);
        }],
      },
    }, data.columns as uPlot.AlignedData, this.plotBox);
    plot.over.addEventListener('dblclick', () => {
      this.zoomed = false;
    });
    return plot;
  }

  /** For hover-labelled charts: the focused series' name and value at the cursor. */
  private showReadout(u: uPlot): void {
    if (!this.readout) return;
    const idx = u.cursor.idx;
    const focused = this.focused;
    if (idx === null || idx === undefined || focused === null) {
      this.readout.textContent = this.opts.hoverHint ?? '';
      this.readout.style.color = '';
      return;
    }
    const s = u.series[focused];
    this.readout.textContent = `${String(s.label)}: ${this.opts.yLabel} ${num(u.data[focused][idx])} at iteration ${u.data[0][idx]}`;
    this.readout.style.color = typeof s.stroke === 'string' ? s.stroke : '';
  }
}
