/**
 * The explorer in a real browser (headless Debian Chromium via playwright-core): the exported site
 * draws, for a URL state, the image `biggan sample` writes for the same seed / class / truncation
 * (within 2/255 per pixel, checked on the "Download PNG" file), for a BigGAN-deep and a
 * BigGAN-PyTorch fixture; the truncation slider and class mixing change the image as the CLI
 * would; a bred child is reproducible from its URL; WebAssembly with and without cross-origin
 * isolation; WebGPU on Chromium's software adapter; `biggan explore`; no console errors.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { PT_REF } from './fixture-paths.js';
import { biggan, CLI, isCleanError, TEST_CACHE_DIR } from './cli-helpers.js';
import { launchChromium, watchedPage, type LaunchedBrowser } from './browser-helpers.js';
import { readNpy, writeNpy } from '../src/io/npy.js';
import { readPng } from '../src/image/png-read.js';
import { startStaticServer, type RunningServer } from '../src/web/static-server.js';
import { decodeLatents } from '../src/explore/explorer-state.js';

const HF = path.join(PT_REF, 'hf-biggan-deep-128-w8');
const AJB = path.join(PT_REF, 'ajbrock-biggan-128-ch10');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-explorer-'));
const DEEP_SITE = path.join(tmp, 'deep-site');
const AJB_SITE = path.join(tmp, 'ajb-site');
const DEEP = ['--weights', path.join(HF, 'model.safetensors')];
const AJB_ARGS = ['--weights', path.join(AJB, 'G.pth'), '--config', path.join(AJB, 'constructor_args.json')];

let browser: LaunchedBrowser;
let plain: RunningServer;
let isolated: RunningServer;
let ajbServer: RunningServer;

before(async () => {
  for (const [args, out] of [[DEEP, DEEP_SITE], [AJB_ARGS, AJB_SITE]] as const) {
    const r = biggan(['export-web', ...args, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
  }
  // a plain static host (no special headers) and one that isolates the page (threads)
  plain = await startStaticServer({ roots: [DEEP_SITE] });
  isolated = await startStaticServer({ roots: [DEEP_SITE], crossOriginIsolated: true });
  ajbServer = await startStaticServer({ roots: [AJB_SITE] });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const s of [plain, isolated, ajbServer]) await s?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** RGB bytes (HWC) of image 0 of `biggan sample ... --out x.npy`, with the CLI's float-to-byte step. */
function cliImage(args: string[]): { rgb: Uint8Array; size: number } {
  const out = path.join(tmp, `cli-${Math.random().toString(36).slice(2)}.npy`);
  const r = biggan(['sample', ...args, '-n', '1', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const a = readNpy(out);
  const size = a.shape[3];
  const plane = size * size;
  const rgb = new Uint8Array(plane * 3);
  const data = a.data as Float32Array;
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.min(255, Math.max(0, Math.round((data[c * plane + p] + 1) * 127.5)));
  return { rgb, size };
}

async function open(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state !== 'loading' && document.body.dataset.state !== undefined, null, { timeout: 180_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, 'ready', `page stopped: ${await page.textContent('#error')}`);
}

/** The fragment of the image on screen once it contains `part`. */
async function renderedWith(page: Page, part: string): Promise<string> {
  await page.waitForFunction((p) => (document.querySelector<HTMLCanvasElement>('#image')?.dataset.rendered ?? '').includes(p), part, { timeout: 120_000 });
  return page.evaluate(() => document.querySelector<HTMLCanvasElement>('#image')!.dataset.rendered!);
}

/** The "Download PNG" file, as RGB bytes. */
async function downloadPng(page: Page): Promise<{ rgb: Uint8Array; size: number; name: string }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download PNG' }).click()]);
  const file = path.join(tmp, `dl-${Math.random().toString(36).slice(2)}.png`);
  await dl.saveAs(file);
  const png = readPng(file);
  assert.equal(png.width, png.height);
  let rgb = png.data;
  if (png.channels === 4) rgb = Uint8Array.from({ length: png.width * png.height * 3 }, (_, i) => png.data[Math.floor(i / 3) * 4 + (i % 3)]);
  return { rgb, size: png.width, name: dl.suggestedFilename() };
}

function maxDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function assertSameImage(page: { rgb: Uint8Array; size: number }, cli: { rgb: Uint8Array; size: number }, what: string): void {
  assert.equal(page.size, cli.size, `${what}: image size`);
  const d = maxDiff(page.rgb, cli.rgb);
  assert.ok(d <= 2, `${what}: max difference ${d}/255 to biggan sample`);
}

test('BigGAN-deep site on a plain static host: the URL state draws what biggan sample writes', async () => {
  const { page, errors } = await watchedPage(browser.context);
  const requested: string[] = [];
  page.on('request', (r) => requested.push(r.url()));
  await open(page, `${plain.url}#seed=3&class=207&truncation=0.4`);
  assert.deepEqual(requested.filter((u) => !u.startsWith(plain.url) && !u.startsWith('data:') && !u.startsWith('blob:')), [], 'nothing fetched from outside the site folder');
  assert.equal(await page.textContent('#backend'), 'WebAssembly, 1 thread');
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);
  await renderedWith(page, 'seed=3');
  const png = await downloadPng(page);
  assert.equal(png.size, 128, 'Download PNG is at the model resolution');
  assert.match(png.name, /\.png$/);
  assertSameImage(png, cliImage([...DEEP, '--seed', '3', '--classes', '207', '--truncation', '0.4']), 'seed 3 class 207 t 0.4');

  // a class given by name in the URL
  await page.goto(`${plain.url}#seed=5&class=${encodeURIComponent('golden retriever')}&truncation=0.6`);
  await renderedWith(page, 'seed=5&class=207&truncation=0.6');
  assertSameImage(await downloadPng(page), cliImage([...DEEP, '--seed', '5', '--classes', '207', '--truncation', '0.6']), 'class by name');

  // the truncation slider redraws with the CLI's latents and BN statistics for the new value
  await page.locator('#truncation').fill('0.7');
  await renderedWith(page, 'truncation=0.7');
  assertSameImage(await downloadPng(page), cliImage([...DEEP, '--seed', '5', '--classes', '207', '--truncation', '0.7']), 'truncation slider 0.7');

  // the model was downloaded once: a second visit reads it from the browser's cache
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: 120_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { bigganExplorer: { timings: { fromCache: boolean } } }).bigganExplorer.timings.fromCache), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('class mixing: the URL mix and the "+ mix" control draw what biggan sample --class-vector writes', async () => {
  const { page, errors } = await watchedPage(browser.context);
  const mixFile = (entries: [number, number][]): string => {
    const v = new Float32Array(1000);
    for (const [id, w] of entries) v[id] = w;
    const f = path.join(tmp, `mix-${Math.random().toString(36).slice(2)}.npy`);
    writeNpy(f, { dtype: 'float32', data: v, shape: [1, 1000] });
    return f;
  };
  await open(page, `${plain.url}#seed=1&mix=207:0.7,980:0.3&truncation=0.5`);
  await renderedWith(page, 'mix=207:0.7,980:0.3');
  assertSameImage(await downloadPng(page), cliImage([...DEEP, '--seed', '1', '--class-vector', mixFile([[207, 0.7], [980, 0.3]]), '--truncation', '0.5']), 'URL mix');

  // search "daisy", add it to the mix with the keyboard (Shift+Enter)
  await page.locator('#class-search').fill('daisy');
  await page.locator('#class-search').press('Shift+Enter');
  const frag = await renderedWith(page, '985');
  const mix = new URLSearchParams(frag.slice(1)).get('mix')!;
  const entries = mix.split(',').map((e) => e.split(':').map(Number) as [number, number]);
  assert.equal(entries.length, 3, `three classes in the mix: ${mix}`);
  assertSameImage(await downloadPng(page), cliImage([...DEEP, '--seed', '1', '--class-vector', mixFile(entries), '--truncation', '0.5']), 'mix after adding daisy');
  assert.deepEqual(errors, []);
  await page.close();
});

test('breeding: a child is reproducible from the URL it shows, and equals biggan sample --z/--class-vector', async () => {
  const { page, errors } = await watchedPage(browser.context);
  await open(page, `${plain.url}#seed=11&class=1&truncation=0.5`);
  await page.locator('#strength').fill('0.6');
  await page.locator('#drift').fill('0.3');
  await page.keyboard.press('c');
  await page.waitForFunction(() => document.querySelector<HTMLElement>('#grid')?.dataset.filled === '8' && document.querySelector('#grid-title')?.textContent?.startsWith('Children'), null, { timeout: 120_000 });
  await page.keyboard.press('3');
  const frag = await renderedWith(page, 'z=');
  const child = await downloadPng(page);
  // the parent went into the ancestors
  assert.ok((await page.locator('#history .tile').count()) >= 1, 'the parent is in the history');

  const { page: again, errors: errors2 } = await watchedPage(browser.context);
  await open(again, `${plain.url}${frag}`);
  await renderedWith(again, frag);
  const reopened = await downloadPng(again);
  assert.equal(maxDiff(child.rgb, reopened.rgb), 0, 'the child URL draws the same image');

  const params = new URLSearchParams(frag.slice(1));
  const z = decodeLatents(params.get('z')!, 128);
  const zFile = path.join(tmp, 'child-z.npy');
  writeNpy(zFile, { dtype: 'float32', data: z, shape: [1, 128] });
  const cv = new Float32Array(1000);
  const mix = params.get('mix');
  if (mix) for (const e of mix.split(',')) { const [id, w] = e.split(':').map(Number); cv[id] = w; } else cv[Number(params.get('class'))] = 1;
  const cvFile = path.join(tmp, 'child-cv.npy');
  writeNpy(cvFile, { dtype: 'float32', data: cv, shape: [1, 1000] });
  assertSameImage(child, cliImage([...DEEP, '--z', zFile, '--class-vector', cvFile, '--truncation', params.get('truncation')!]), 'bred child');
  assert.deepEqual([...errors, ...errors2], []);
  await page.close();
  await again.close();
});

test('keyboard: seeds, parent B, crossover, interpolation with video and frame-sheet export', async () => {
  const { page, errors } = await watchedPage(browser.context);
  await open(page, `${plain.url}#seed=20&class=1&truncation=0.5`);
  await renderedWith(page, 'seed=20');
  await page.keyboard.press('ArrowRight');
  await renderedWith(page, 'seed=21&');
  await page.keyboard.press('b'); // pin seed 21 as parent B
  assert.match((await page.textContent('#parent-b-label')) ?? '', /seed 21/);
  await page.keyboard.press('ArrowLeft');
  await renderedWith(page, 'seed=20&');
  await page.keyboard.press(']');
  await renderedWith(page, 'truncation=0.55');
  await page.keyboard.press('x');
  await page.waitForFunction(() => document.querySelector<HTMLElement>('#grid')?.dataset.filled === '8' && document.querySelector('#grid-title')?.textContent?.startsWith('Crossovers'), null, { timeout: 120_000 });
  await page.locator('#grid .tile').nth(1).tap().catch(async () => page.locator('#grid .tile').nth(1).click()); // touch where the context has it
  await renderedWith(page, 'z=');
  await page.keyboard.press('Backspace'); // back to the parent
  await renderedWith(page, 'seed=20&class=1&truncation=0.55');

  await page.locator('#interp-steps').fill('4');
  await page.locator('#interp-steps').blur(); // keys typed in a field stay in the field
  await page.keyboard.press('i');
  await page.waitForFunction(() => /4 frames/.test(document.querySelector('#status')?.textContent ?? ''), null, { timeout: 120_000 });
  const [sheet] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Frame sheet' }).click()]);
  const sheetFile = path.join(tmp, 'sheet.png');
  await sheet.saveAs(sheetFile);
  const png = readPng(sheetFile);
  assert.deepEqual([png.width, png.height], [4 * 128, 128], 'four frames in a row');
  const [video] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export video' }).click()]);
  const videoFile = path.join(tmp, 'interp.webm');
  await video.saveAs(videoFile);
  const head = fs.readFileSync(videoFile).subarray(0, 4);
  assert.deepEqual([...head], [0x1a, 0x45, 0xdf, 0xa3], 'a WebM (EBML) file');
  assert.deepEqual(errors, []);
  await page.close();
});

test('WebAssembly with two threads on a cross-origin isolated page draws the same image', async () => {
  const { page, errors } = await watchedPage(browser.context);
  await open(page, `${isolated.url}#seed=3&class=207&truncation=0.4&threads=2`);
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
  assert.equal(await page.textContent('#backend'), 'WebAssembly, 2 threads');
  await renderedWith(page, 'seed=3');
  assertSameImage(await downloadPng(page), cliImage([...DEEP, '--seed', '3', '--classes', '207', '--truncation', '0.4']), 'two threads');
  assert.deepEqual(errors, []);
  await page.close();
});

test('BigGAN-PyTorch site: seed, class and truncation (resampling threshold) as biggan sample', async () => {
  const { page, errors } = await watchedPage(browser.context);
  await open(page, `${ajbServer.url}#seed=2&class=3&truncation=0.5`);
  await renderedWith(page, 'seed=2&class=3&truncation=0.5');
  assertSameImage(await downloadPng(page), cliImage([...AJB_ARGS, '--seed', '2', '--classes', '3', '--truncation', '0.5']), 'BigGAN-PyTorch t 0.5');
  // no truncation at all (the checkbox off)
  await page.locator('#truncate').uncheck();
  const frag = await renderedWith(page, 'seed=2&class=3');
  assert.ok(!frag.includes('truncation'), frag);
  assertSameImage(await downloadPng(page), cliImage([...AJB_ARGS, '--seed', '2', '--classes', '3']), 'BigGAN-PyTorch untruncated');
  assert.deepEqual(errors, []);
  await page.close();
});

test('our own checkpoints: class names in the URL and in the class search; an unconditional study architecture', async () => {
  const run = path.join(tmp, 'own-run');
  const t = biggan(['train', '--out', run, '--steps', '2', '--standing-passes', '0', '--sv-every', '0', '--sample-every', '0']);
  assert.equal(t.status, 0, t.stderr);
  const weights = path.join(run, 'checkpoint.safetensors');
  const site = path.join(tmp, 'own-site');
  assert.equal(biggan(['export-web', '--weights', weights, '--out', site]).status, 0);
  const server = await startStaticServer({ roots: [site] });
  const { page, errors } = await watchedPage(browser.context);
  try {
    await open(page, `${server.url}#seed=4&class=triangle`);
    await renderedWith(page, 'seed=4&class=2');
    assert.match((await page.textContent('#class-mix')) ?? '', /2 triangle/);
    assertSameImage(await downloadPng(page), cliImage(['--weights', weights, '--seed', '4', '--classes', 'triangle']), 'own checkpoint');
    await page.locator('#class-search').fill('chec');
    assert.match((await page.locator('#class-list').textContent()) ?? '', /7 checker/);
    await page.locator('#class-search').press('Enter');
    await renderedWith(page, 'class=7');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
    await server.close();
  }

  // an unconditional architecture of the study: no class input, no class controls
  const snRun = path.join(tmp, 'sndcgan-run');
  const sn = biggan(['train', '--arch', 'sndcgan', '--resolution', '32', '--unconditional', '--out', snRun, '--steps', '2', '--standing-passes', '0', '--sv-every', '0', '--sample-every', '0']);
  assert.equal(sn.status, 0, sn.stderr);
  const snSite = path.join(tmp, 'sndcgan-site');
  assert.equal(biggan(['export-web', '--weights', path.join(snRun, 'checkpoint.safetensors'), '--out', snSite]).status, 0);
  const snServer = await startStaticServer({ roots: [snSite] });
  const { page: snPage, errors: snErrors } = await watchedPage(browser.context);
  try {
    await open(snPage, `${snServer.url}#seed=3`);
    assert.equal(await snPage.locator('#class-search').isVisible(), false);
    assertSameImage(await downloadPng(snPage), cliImage(['--weights', path.join(snRun, 'checkpoint.safetensors'), '--seed', '3']), 'unconditional SNDCGAN');
    assert.deepEqual(snErrors, []);
  } finally {
    await snPage.close();
    await snServer.close();
  }
});

test('a bad URL state shows a one-line message and the page still works', async () => {
  const { page, errors } = await watchedPage(browser.context);
  await open(page, `${plain.url}#seed=1&class=not-a-class-name`);
  assert.match((await page.textContent('#error')) ?? '', /unknown class "not-a-class-name"/);
  await renderedWith(page, 'seed=0');
  assert.deepEqual(errors, []);
  await page.close();
});

test('WebGPU (Chromium software adapter) runs the generator and draws the same image', { timeout: 600_000 }, async () => {
  const gpu = await launchChromium({ webgpu: true });
  try {
    const { page, errors } = await watchedPage(gpu.context);
    await open(page, `${plain.url}#seed=3&class=207&truncation=0.4&backend=webgpu`);
    assert.equal(await page.textContent('#backend'), 'WebGPU');
    await renderedWith(page, 'seed=3');
    assertSameImage(await downloadPng(page), cliImage([...DEEP, '--seed', '3', '--classes', '207', '--truncation', '0.4']), 'WebGPU');
    assert.deepEqual(errors.filter((e) => !/No available adapters/.test(e)), []);
  } finally {
    await gpu.close();
  }
});

test('biggan explore serves the site cross-origin isolated and prints its URL; bad input is a one-line error', async () => {
  const proc = spawn(process.execPath, [CLI, 'explore', ...DEEP, '--port', '0'], { env: { ...process.env, BIGGAN_CACHE_DIR: TEST_CACHE_DIR }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += String(d); });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d) => {
        out += String(d);
        const m = /http:\/\/\S+/.exec(out);
        if (m) resolve(m[0]);
      });
      proc.once('exit', (code) => reject(new Error(`explore exited ${code}: ${stderr}`)));
    });
    const { page, errors } = await watchedPage(browser.context);
    await open(page, `${url}#seed=3&class=207&truncation=0.4`);
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    assert.match((await page.textContent('#backend')) ?? '', /^WebAssembly, \d threads?$/);
    assertSameImage(await downloadPng(page), cliImage([...DEEP, '--seed', '3', '--classes', '207', '--truncation', '0.4']), 'explore');
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, 'explore stops cleanly on SIGTERM');
  }
  assert.ok(isCleanError(biggan(['explore', '--weights', path.join(tmp, 'missing.bin')])));
  assert.ok(isCleanError(biggan(['export-web', '--weights', path.join(tmp, 'missing.bin'), '--out', path.join(tmp, 'x')])));
});
