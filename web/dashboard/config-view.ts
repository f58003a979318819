/** The run's configuration (DIR/config.json) and data, as tables of name and value. */
import type { RunState } from './run-state.js';
import { cell, num } from './format.js';

/** Nested objects flattened to dotted names (collapse.warmup), arrays and scalars kept whole. */
function flatten(obj: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(obj).flatMap(([k, v]): [string, unknown][] =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? flatten(v as Record<string, unknown>, `${prefix}${k}.`) : [[`${prefix}${k}`, v]],
  );
}

function rows(table: HTMLTableElement, entries: [string, unknown][]): void {
  table.replaceChildren(...entries.map(([k, v]) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.textContent = k;
    const td = document.createElement('td');
    td.textContent = cell(v);
    tr.append(th, td);
    return tr;
  }));
}

export class ConfigView {
  private shown = '';

  constructor(private readonly root: HTMLElement) {}

  render(state: RunState): void {
    const start = state.last('start');
    const config = state.runConfig;
    const key = JSON.stringify([config, start?.data, start?.parameters, start?.class_names]);
    if (key === this.shown) return; // keeps the reader's scroll position and selection
    this.shown = key;
    const run: [string, unknown][] = [];
    const data = start?.data as Record<string, unknown> | undefined;
    if (data) run.push(['data', `${cell(data.source)} (${num(data.count)} images)`]);
    if (Array.isArray(start?.class_names)) run.push(['classes', (start.class_names as unknown[]).join(', ')]);
    const params = start?.parameters as Record<string, unknown> | undefined;
    if (params) run.push(['parameters', `G ${num(params.G, 6)} · D ${num(params.D, 6)}`]);
    rows(this.root.querySelector<HTMLTableElement>('#run-info')!, run);
    rows(this.root.querySelector<HTMLTableElement>('#config')!, config ? flatten(config) : []);
    this.root.querySelector<HTMLElement>('#config-empty')!.hidden = config !== null;
  }
}
