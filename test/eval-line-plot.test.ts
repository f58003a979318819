import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PLOT_PALETTE, formatNumber, renderLinePlot, writeLinePlot } from '../src/image/line-plot.js';
import { readPng } from '../src/image/png-read.js';
import type { RgbaImage } from '../src/image/image-grid.js';

function countColor(img: RgbaImage, c: readonly number[], region?: { x0: number; y0: number; x1: number; y1: number }): number {
  const r = region ?? { x0: 0, y0: 0, x1: img.width, y1: img.height };
  let n = 0;
  for (let y = r.y0; y < r.y1; y++) {
    for (let x = r.x0; x < r.x1; x++) {
      const o = (y * img.width + x) * 4;
      if (img.rgba[o] === c[0] && img.rgba[o + 1] === c[1] && img.rgba[o + 2] === c[2]) n++;
    }
  }
  return n;
}

test('line plot: two series in palette colours, legend, title and axes on white', () => {
  const x = Array.from({ length: 50 }, (_, i) => i);
  const img = renderLinePlot(
    [{ name: 'up', x, y: x.map((v) => v * v) }, { name: 'down', x, y: x.map((v) => 2500 - v * v), marker: 'square' }],
    { width: 400, height: 300, title: 'Title', x: { label: 'step' }, y: { label: 'value' } },
  );
  assert.equal(img.width, 400);
  assert.equal(img.height, 300);
  assert.equal(img.rgba.length, 400 * 300 * 4);
  // corners stay background
  assert.deepEqual([...img.rgba.subarray(0, 4)], [255, 255, 255, 255]);
  const blue = countColor(img, PLOT_PALETTE[0]!), orange = countColor(img, PLOT_PALETTE[1]!);
  assert.ok(blue > 200 && orange > 200, `series pixels: ${blue} blue, ${orange} orange`);
  // the legend (top right) holds both colours as swatches
  const legend = { x0: 250, y0: 0, x1: 400, y1: 100 };
  assert.ok(countColor(img, PLOT_PALETTE[0]!, legend) > 0 && countColor(img, PLOT_PALETTE[1]!, legend) > 0);
  // text and frame are black
  assert.ok(countColor(img, [0, 0, 0]) > 500);
});

test('line plot: log axis, gaps at non-finite / non-positive points, scatter labels', () => {
  const img = renderLinePlot(
    [
      { x: [1, 10, 100, 1000], y: [1e-3, NaN, 0.1, -1], pointLabels: ['a', 'b', 'c', 'd'] },
      { x: [1, 1000], y: [1, 1], line: false, marker: 'cross' },
    ],
    { width: 300, height: 200, x: { scale: 'log' }, y: { scale: 'log', min: 1e-4, max: 10 } },
  );
  assert.ok(countColor(img, PLOT_PALETTE[0]!) > 0);
  assert.ok(countColor(img, PLOT_PALETTE[1]!) > 0);
  // no legend without names: the top-right corner inside the frame is background or grid only
  assert.throws(() => renderLinePlot([{ x: [1, 2], y: [1] }]), /2 x values but 1 y values/);
  assert.throws(() => renderLinePlot([{ x: [1], y: [1] }], { y: { scale: 'log', min: 0 } }), /positive minimum/);
  assert.throws(() => renderLinePlot([{ x: [1], y: [1] }], { width: 50 }), /at least 120x100/);
});

test('line plot: degenerate data (one point, all equal, empty) still renders', () => {
  for (const s of [[{ x: [3], y: [7] }], [{ x: [1, 2, 3], y: [5, 5, 5] }], [{ x: [], y: [] }], []]) {
    const img = renderLinePlot(s, { width: 200, height: 150 });
    assert.equal(img.rgba.length, 200 * 150 * 4);
  }
});

test('tick labels: decimals follow the step, exponents for extreme magnitudes', () => {
  assert.equal(formatNumber(0.30000000000000004, 0.1), '0.3');
  assert.equal(formatNumber(2, 0.5), '2.0');
  assert.equal(formatNumber(1500, 500), '1500');
  assert.equal(formatNumber(1e-12, 1), '0');
  assert.equal(formatNumber(2e6, 1e6), '2e6');
  assert.equal(formatNumber(2.5e-5, 5e-6), '2.5e-5');
});

test('writeLinePlot writes a PNG of the requested size', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-plot-'));
  const file = path.join(dir, 'p.png');
  writeLinePlot(file, [{ name: 'FID', x: [0.5, 1, 1.5], y: [20, 15, 18], marker: 'circle', pointLabels: ['t=0.5', 't=1', 't=1.5'] }], { width: 320, height: 240, title: 'sweep' });
  const png = readPng(file);
  assert.equal(png.width, 320);
  assert.equal(png.height, 240);
  fs.rmSync(dir, { recursive: true, force: true });
});
