/**
 * The training dashboard in headless Chromium, on a real run: `biggan train --dashboard 0` on
 * the embedded data, the page opened as soon as the URL is printed. The charts gain points
 * while the log grows (the same page, never reloaded), the last sample sheet is loaded when the
 * run ends, and `biggan dashboard DIR` then shows the finished run in full (slider through the
 * sheets, config). No console or page errors anywhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { CLI, TEST_CACHE_DIR } from './cli-helpers.js';
import { launchChromium, watchedPage } from './browser-helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-dashboard-browser-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const RUN = path.join(tmp, 'run');
const STEPS = 60;

interface Cli {
  child: ChildProcess;
  stderr: () => string;
  /** The URL the command printed. */
  url: Promise<string>;
  exit: Promise<number | null>;
}

/** Starts `biggan ARGS` in the background and reads the dashboard URL off its stderr. */
function start(args: string[]): Cli {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, BIGGAN_CACHE_DIR: TEST_CACHE_DIR }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      err += chunk;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(err);
      if (m) resolve(m[1]);
    });
    void exit.then((code) => reject(new Error(`exited (${code}) before printing a URL: ${err}`)));
  });
  return { child, stderr: () => err, url, exit };
}

const points = async (page: Page, chart: string): Promise<number> => Number((await page.locator(`[data-chart="${chart}"]`).getAttribute('data-points')) ?? 0);

/** Waits until the chart shows more than `than` iterations; returns how many. */
async function morePoints(page: Page, chart: string, than: number): Promise<number> {
  await page.waitForFunction(([c, n]) => Number(document.querySelector(`[data-chart="${c}"]`)?.getAttribute('data-points') ?? 0) > n, [chart, than] as const, { timeout: 60_000, polling: 100 });
  return points(page, chart);
}

test('dashboard: follows a training run live, then shows the finished run', async () => {
  const chromium = await launchChromium();
  const procs: Cli[] = [];
  try {
    const train = start(['train', '--steps', String(STEPS), '--ch', '8', '--log-every', '1', '--sv-every', '5', '--sample-every', '10', '--dashboard', '0', '--out', RUN]);
    procs.push(train);
    const { page, errors } = await watchedPage(chromium.context);
    await page.goto(await train.url);
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));

    // live: the same page gains points as training writes records
    const losses1 = await morePoints(page, 'losses', 0);
    const sigma1 = await morePoints(page, 'sigma-G', 0);
    const losses2 = await morePoints(page, 'losses', losses1);
    const sigma2 = await morePoints(page, 'sigma-G', sigma1);
    assert.ok(losses2 > losses1 && sigma2 > sigma1);
    assert.equal(await points(page, 'throughput'), await points(page, 'losses'));
    assert.ok(await page.locator('[data-chart="losses"] canvas').count() > 0, 'uPlot drew the losses');
    assert.match((await page.locator('#status').textContent()) ?? '', /training|finished/);

    assert.equal(await train.exit, 0, train.stderr());
    // the run's end reached the page before the server went, and the page fetched the final sheet first
    await page.waitForFunction(() => !document.querySelector<HTMLElement>('#banner')!.hidden);
    assert.match((await page.locator('#banner').textContent()) ?? '', /training ended/);
    assert.equal(await page.locator('#status').textContent(), 'finished');
    assert.equal(await points(page, 'losses'), STEPS);
    assert.equal(await points(page, 'sigma-G'), STEPS / 5);
    assert.equal(await page.locator('#sheet-slider').getAttribute('max'), '5', 'sheets at 10, 20, 30, 40, 50 and final');
    assert.match((await page.locator('#sheet-caption').textContent()) ?? '', /^final · iteration 60/);
    assert.ok(await page.locator('#sheet').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'final.png loaded');
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'never reloaded');
    assert.deepEqual(errors, []);

    // the finished run, from its folder
    const dash = start(['dashboard', RUN, '--port', '0']);
    procs.push(dash);
    const view = await watchedPage(chromium.context);
    await view.page.goto(await dash.url);
    await view.page.waitForFunction((n) => document.querySelector('[data-chart="losses"]')?.getAttribute('data-points') === String(n), STEPS);
    assert.equal(await view.page.locator('#status').textContent(), 'finished');
    assert.equal(await points(view.page, 'sigma-D'), STEPS / 5);
    assert.equal(await points(view.page, 'is'), 0, 'not evaluated');
    assert.match((await view.page.locator('[data-chart="is"] .empty').textContent()) ?? '', /no evaluations/);
    const configRows = await view.page.locator('#config tr').allTextContents();
    assert.ok(configRows.includes(`steps${STEPS}`) && configRows.includes('gCh8') && configRows.includes('logEvery1'), configRows.join(' | '));
    assert.match((await view.page.locator('#run-info').textContent()) ?? '', /synthetic.*800 images/);
    // back through the sheets
    await view.page.locator('#sheet-slider').fill('0');
    await view.page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#sheet')!;
      return img.getAttribute('src')!.startsWith('samples/step-00000010.png') && img.complete && img.naturalWidth > 0;
    });
    assert.match((await view.page.locator('#sheet-caption').textContent()) ?? '', /^iteration 10 · diversity \d\.\d+ · sheet 1 of 6$/);
    assert.deepEqual(view.errors, []);

    dash.child.kill('SIGINT');
    assert.equal(await dash.exit, 0, dash.stderr());
  } finally {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await chromium.close();
  }
});
