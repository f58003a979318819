/**
 * Browser benchmark: full-size BigGAN-deep-128 (random weights from bench/random-weights.ts, no
 * PyTorch) in the explorer page as `biggan explore` serves it (cached site model, app, COOP/COEP),
 * in headless Chromium on onnxruntime-web's WebAssembly build at 1 and 2 threads, side by side
 * with `biggan sample`'s runtime (onnxruntime-node) on the same machine in the same run.
 *
 * Each interleaved round runs: Node (library Generator.sample, as `biggan sample` runs it: batch 1
 * and batch 8 at onnxruntime's default threads, batch 1 at 1 thread; `biggan sample -n 1` as a
 * whole process), then per thread count one fresh Chromium profile visited twice: cold (nothing
 * cached: the model is downloaded, then kept in the Cache API) and, after restarting the browser
 * on the same profile, warm (model read from the Cache API; onnxruntime-web's files from the HTTP
 * cache). Time to first image is navigation start to `body[data-state=ready]` (the first image is
 * drawn then), read in the page by a MutationObserver installed before the page's scripts. After
 * the warm visit's neighbour grid (8 images: the warm-up) the page's `bigganExplorer.time()` runs
 * the generator on further seeds; ms per image is onnxruntime-web's run + output read, as the
 * Node side's is Sampler.generate. Memory: the Chromium process tree sampled every 100 ms.
 */
import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { type Generator, loadGenerator } from '../src/api/generator.js';
import { modelKey } from '../src/sample/graph-cache.js';
import { packageVersion } from '../src/package-info.js';
import { cachedSiteModel } from '../src/web/site-export.js';
import { startStaticServer, webAppDir } from '../src/web/static-server.js';
import { BASE_ARGS, CHROMIUM } from '../test/browser-helpers.js';
import { directEntry, markdownTable, measureProcess, median, type ProcessMeasurement } from './measure.js';
import { watchOtherLoad } from './machine-load.js';
import { sampleTreeMemory, type TreeMemory } from './process-memory.js';
import { ourDeep128Weights } from './random-weights.js';

const CLASS = 207;
const TRUNCATION = 0.5;
const NODE_BATCH = 8; // a batch of 8, as the page's batch-1 figure's counterpart (`biggan sample` picks 2 at 128x128: sample/default-batch.ts)
const THREADS = [1, 2] as const;

export interface BrowserBenchOptions {
  rounds: number;
  /** Fewer timed images, no fp16 export, no `--no-cache` process. */
  quick: boolean;
}

interface Visit {
  /** navigation start -> first image drawn (in-page clock) */
  readyMs: number;
  /** the page's own split (from its script start) */
  timings: { downloadMs: number; sessionMs: number; firstImageMs: number; fromCache: boolean };
  runtime: string;
  /** bytes of the 200 responses the server sent during the visit */
  servedBytes: number;
  errors: string[];
}

interface BrowserRound {
  cold: Visit & { memory: TreeMemory };
  /** memory: the warm visit and the timed images */
  warm: Visit & { memory: TreeMemory };
  /** ms per image of the timed runs after warm-up */
  times: number[];
  chromium: string;
  /** cores busy with other processes meanwhile */
  otherLoad: number;
}

interface NodeRound {
  batch1: number;
  batch8: number;
  threads1: number;
  cli: ProcessMeasurement;
  cliNoCache?: ProcessMeasurement;
  otherLoad: number;
}

/**
 * What the page exposes (web/explorer/main.ts ExplorerHandle; declared here because the page's
 * sources belong to the web build, not this one) and the bench's own ready mark.
 */
type PageWindow = Window & {
  bigganExplorer?: { runtime: string; timings: Visit['timings']; time(fragment: string): Promise<number> };
  __readyAt?: number;
};

/** Counts what the server sends: the bytes of a visit, as the browser downloaded them. */
function servedLog(): { route: (req: unknown, res: ServerResponse) => boolean; take(): number } {
  let bytes = 0;
  return {
    route: (_req, res) => {
      res.once('finish', () => {
        if (res.statusCode === 200) bytes += Number(res.getHeader('content-length') ?? 0);
      });
      return false; // the static files answer
    },
    take: () => {
      const b = bytes;
      bytes = 0;
      return b;
    },
  };
}

async function launch(profile: string): Promise<BrowserContext> {
  // WebAssembly only: no GPU process work, no WebGPU adapter for the page to pick
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...BASE_ARGS, '--disable-gpu'] });
}

/** Opens the page, waits for its first image; the in-page time from navigation start. */
async function visit(ctx: BrowserContext, url: string, served: { take(): number }): Promise<Visit & { page: Page }> {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  // performance.now() counts from navigation start; the observer fires as the attribute is set
  await page.addInitScript(() => {
    const w = window as PageWindow;
    new MutationObserver(() => {
      if (w.__readyAt === undefined && document.body?.dataset.state === 'ready') w.__readyAt = performance.now();
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  });
  served.take();
  await page.goto(url);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: 600_000, polling: 100 });
  const r = await page.evaluate(() => ({
    state: document.body.dataset.state,
    error: document.querySelector('#error')?.textContent ?? '',
    readyAt: (window as PageWindow).__readyAt,
    runtime: (window as PageWindow).bigganExplorer?.runtime ?? '',
    timings: (window as PageWindow).bigganExplorer?.timings,
  }));
  if (r.state !== 'ready' || r.readyAt === undefined || !r.timings) throw new Error(`bench browser: the page at ${url} did not get ready: ${r.error} ${errors.join('; ')}`);
  return { page, readyMs: r.readyAt, timings: r.timings, runtime: r.runtime, servedBytes: served.take(), errors };
}

/** One thread count: a fresh profile, a cold visit, a warm one after a browser restart, timed images. */
async function browserRound(url: string, threads: number, served: { take(): number }, images: number): Promise<BrowserRound> {
  const load = watchOtherLoad('sampled');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'biggan-bench-chromium-'));
  const page = `${url}#seed=0&class=${CLASS}&truncation=${TRUNCATION}&backend=wasm&threads=${threads}`;
  // each launch is sampled from before the browser starts until just before it closes
  const sampled = async <T>(run: (ctx: BrowserContext) => Promise<T>): Promise<T & { memory: TreeMemory; chromium: string }> => {
    const mem = sampleTreeMemory(/chrom/i);
    const ctx = await launch(profile);
    try {
      const out = await run(ctx);
      return { ...out, memory: mem.stop(), chromium: ctx.browser()?.version() ?? '' };
    } finally {
      mem.stop();
      await ctx.close();
    }
  };
  try {
    const cold = await sampled((ctx) => visit(ctx, page, served));
    const warm = await sampled(async (ctx) => {
      const v = await visit(ctx, page, served);
      // the page fills a grid of 8 neighbour seeds after the first image: wait, so the timed runs
      // do not queue behind it (it is also the warm-up)
      await v.page.waitForFunction(() => document.querySelector<HTMLElement>('#grid')?.dataset.filled === '8', null, { timeout: 600_000, polling: 100 });
      const times: number[] = [];
      for (let i = 0; i < images; i++) {
        times.push(await v.page.evaluate((f) => (window as PageWindow).bigganExplorer!.time(f), `#seed=${100 + i}&class=${CLASS}&truncation=${TRUNCATION}`));
      }
      return { ...v, times };
    });
    if (cold.timings.fromCache || !warm.timings.fromCache) throw new Error(`bench browser: expected a cold then a warm cache, got fromCache ${cold.timings.fromCache} / ${warm.timings.fromCache}`);
    return { cold, warm, times: warm.times, chromium: warm.chromium, otherLoad: load.stop() };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/** Steady ms per image: `repeats` calls of sample({n: batch}) after one warm-up call. */
async function nodeSteady(G: Generator, batch: number, repeats: number): Promise<number> {
  const opts = (seed: number) => ({ n: batch, batch, seed, classes: [CLASS], truncation: TRUNCATION });
  await G.sample(opts(0));
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    await G.sample(opts(100 + r));
    times.push((performance.now() - t) / batch);
  }
  return median(times);
}

function ortWebVersion(): string {
  return (JSON.parse(fs.readFileSync(path.resolve('node_modules/onnxruntime-web/package.json'), 'utf8')) as { version: string }).version;
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const secs = (ms: number): string => (ms / 1000).toFixed(2);
const list = (xs: number[], f: (x: number) => string): string => xs.map(f).join(' / ');

export async function benchBrowser(outDir: string, opts: BrowserBenchOptions): Promise<string> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`bench browser: ${CHROMIUM} is missing (apt-get install -y chromium, or set BIGGAN_CHROMIUM)`);
  const dir = path.join(outDir, 'browser');
  const weights = ourDeep128Weights(path.join(outDir, 'biggan-deep-128-ts'));
  const images = opts.quick ? 2 : 5;
  const loadBefore = os.loadavg()[0];

  // The site exactly as `biggan explore` serves it: the cached model folder first, then the app.
  const key = modelKey(path.resolve(weights), undefined, packageVersion());
  const site = await cachedSiteModel({ weights }, path.join(dir, 'models'), key);
  const fp16 = opts.quick ? undefined : await cachedSiteModel({ weights, fp16: true }, path.join(dir, 'models'), key);
  const served = servedLog();
  const server = await startStaticServer({ roots: [site.dir, await webAppDir('explorer')], crossOriginIsolated: true, routes: [served.route] });

  const G = await loadGenerator(weights); // onnxruntime's default threads, as `biggan sample`
  const G1 = await loadGenerator(weights, { threads: 1 });
  const direct = directEntry();
  const cliArgs = (cache: boolean): string[] => [
    ...direct.pre, 'sample', '--weights', weights, '-n', '1', '--classes', String(CLASS), '--truncation', String(TRUNCATION),
    '--out', path.join(dir, 'node-1.npy'), ...(cache ? [] : ['--no-cache']),
  ];
  measureProcess(direct.cmd, cliArgs(true)); // fills the optimized-graph cache (untimed)

  const node: NodeRound[] = [];
  const browser: Record<number, BrowserRound[]> = { 1: [], 2: [] };
  try {
    for (let r = 0; r < opts.rounds; r++) {
      console.error(`  browser round ${r + 1}/${opts.rounds}: Node ...`);
      const load = watchOtherLoad('reaped');
      node.push({
        batch1: await nodeSteady(G, 1, images),
        batch8: await nodeSteady(G, NODE_BATCH, 2),
        threads1: await nodeSteady(G1, 1, images),
        cli: measureProcess(direct.cmd, cliArgs(true)),
        ...(opts.quick ? {} : { cliNoCache: measureProcess(direct.cmd, cliArgs(false)) }),
        otherLoad: load.stop(),
      });
      for (const t of THREADS) {
        console.error(`  browser round ${r + 1}/${opts.rounds}: Chromium, WebAssembly ${t} thread${t > 1 ? 's' : ''} ...`);
        browser[t]!.push(await browserRound(server.url, t, served, images));
      }
    }
  } finally {
    await G.dispose();
    await G1.dispose();
    await server.close();
  }
  const loadAfter = os.loadavg()[0];
  return report({ node, browser, site, fp16, images, rounds: opts.rounds, chromiumVersion: browser[1]![0]?.chromium ?? '', loadBefore, loadAfter, directLabel: direct.label.split(' (')[0]! });
}

interface Results {
  node: NodeRound[];
  browser: Record<number, BrowserRound[]>;
  site: { model: { bytes: number } };
  fp16?: { model: { bytes: number } };
  images: number;
  rounds: number;
  chromiumVersion: string;
  loadBefore: number;
  loadAfter: number;
  directLabel: string;
}

/** Other processes above this many cores make a round's part contended (2 threads then wait on each other). */
const CONTENDED_CORES = 0.25;

function contended(r: Results): string {
  const parts: string[] = [];
  const rounds = (loads: number[]): string => loads.flatMap((l, i) => (l > CONTENDED_CORES ? [String(i + 1)] : [])).join(', ');
  const add = (label: string, loads: number[]): void => {
    const rs = rounds(loads);
    if (rs) parts.push(`${label} round${rs.includes(',') ? 's' : ''} ${rs}`);
  };
  add('Node', r.node.map((x) => x.otherLoad));
  for (const t of THREADS) add(`Chromium ${t} thread${t > 1 ? 's' : ''}`, r.browser[t]!.map((x) => x.otherLoad));
  return parts.length
    ? `Contended (other processes above ${CONTENDED_CORES} cores: figures shared the CPU with them): ${parts.join('; ')}.`
    : `No part ran beside other processes above ${CONTENDED_CORES} cores.`;
}

function report(r: Results): string {
  const n1 = median(r.node.map((x) => x.batch1));
  const perImage: (string | number)[][] = [];
  const row = (label: string, rounds: number[], load: number[]): void => {
    const m = median(rounds);
    perImage.push([label, m, list(rounds, (x) => x.toFixed(0)), `${(m / n1).toFixed(2)}x`, list(load, (x) => x.toFixed(2))]);
  };
  const nodeLoad = r.node.map((x) => x.otherLoad);
  row('Node: `biggan sample`\'s runtime (onnxruntime-node, default threads), batch 1', r.node.map((x) => x.batch1), nodeLoad);
  row(`Node: same, batch ${NODE_BATCH}`, r.node.map((x) => x.batch8), nodeLoad);
  row('Node: same, 1 thread, batch 1', r.node.map((x) => x.threads1), nodeLoad);
  const wasm = (t: number): number[] => r.browser[t]!.map((x) => median(x.times));
  row('Chromium, WebAssembly, 1 thread, batch 1', wasm(1), r.browser[1]!.map((x) => x.otherLoad));
  row('Chromium, WebAssembly, 2 threads (cross-origin isolated), batch 1', wasm(2), r.browser[2]!.map((x) => x.otherLoad));

  const start: (string | number)[][] = [];
  for (const t of THREADS) {
    const rs = r.browser[t]!;
    for (const which of ['cold', 'warm'] as const) {
      const v = rs.map((x) => x[which]);
      const ready = v.map((x) => x.readyMs);
      start.push([
        `Chromium, WebAssembly ${t} thread${t > 1 ? 's' : ''}, ${which} ${which === 'cold' ? 'profile (download)' : 'cache (Cache API)'}`,
        secs(median(ready)), list(ready, secs),
        secs(median(v.map((x) => x.readyMs - x.timings.firstImageMs))),
        secs(median(v.map((x) => x.timings.downloadMs))),
        secs(median(v.map((x) => x.timings.sessionMs))),
        secs(median(v.map((x) => x.timings.firstImageMs - x.timings.downloadMs - x.timings.sessionMs))),
        mib(median(v.map((x) => x.servedBytes))),
        median(v.map((x) => x.memory.peakTreeMiB)).toFixed(0),
        median(v.map((x) => x.memory.peakRendererMiB)).toFixed(0),
      ]);
    }
  }
  const cli = (label: string, ms: ProcessMeasurement[]): void => {
    const s = ms.map((m) => m.wallS * 1000);
    start.push([label, secs(median(s)), list(s, secs), '', '', '', '', '', median(ms.map((m) => m.peakRssMiB)).toFixed(0), '']);
  };
  cli(`Node: \`${r.directLabel} -n 1\` (whole process), optimized-graph cache warm`, r.node.map((x) => x.cli));
  const noCache = r.node.flatMap((x) => (x.cliNoCache ? [x.cliNoCache] : []));
  if (noCache.length) cli(`Node: same with --no-cache (weights read, graph built and optimized)`, noCache);

  const best = median(wasm(2));
  const warm = (t: number): number => median(r.browser[t]!.map((x) => x.warm.readyMs));
  const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  const targets = markdownTable(['target', 'measured', ''], [
    ['WebAssembly within 2x of Node\'s time per image (2 threads vs Node batch 1)', `${(best / n1).toFixed(2)}x (${best.toFixed(0)} vs ${n1.toFixed(0)} ms)`, met(best <= 2 * n1)],
    ['time to first image ≤ 5 s, warm cache, 2 threads', `${secs(warm(2))} s`, met(warm(2) <= 5000)],
    ['time to first image ≤ 5 s, warm cache, 1 thread', `${secs(warm(1))} s`, met(warm(1) <= 5000)],
  ]);

  const errors = Object.values(r.browser).flat().flatMap((x) => [...x.cold.errors, ...x.warm.errors]);
  const runtimes = [...new Set(Object.values(r.browser).flat().map((x) => `"${x.warm.runtime}"`))].join(' and ');
  const notes = [
    `${r.rounds} interleaved round${r.rounds > 1 ? 's' : ''} (Node, Chromium 1 thread, Chromium 2 threads), medians; per round: ${r.images} timed images after warm-up (Node batch ${NODE_BATCH}: 2 batches). ` +
      `Chromium ${r.chromiumVersion} headless (--disable-gpu), onnxruntime-web ${ortWebVersion()} (the page's badge said ${runtimes}). Seeds differ per image; class ${CLASS}, truncation ${TRUNCATION} on both sides. Node's default threads: onnxruntime's intra-op pool, one thread per physical core.`,
    `Model download: ${mib(r.site.model.bytes)} MiB fp32${r.fp16 ? `, ${mib(r.fp16.model.bytes)} MiB with \`--fp16\`` : ''} (the ONNX file; "served" is everything the server sent with status 200 during the visit: page, app, onnxruntime-web, model). ` +
      `Cold = fresh Chromium profile; warm = the same profile after a browser restart. "before script" is navigation start to the app's first line (HTML, app.js); "download / cache read", "session" (onnxruntime-web: WebAssembly fetch and compile, model parse, graph optimization) and "rest" (model.json, the onnxruntime-web module, the first image's run and drawing) are the page's own split; the cold download includes writing the model into the Cache API.`,
    `Peak memory: largest sampled sum of RSS over the Chromium process tree from browser start to close (warm: including the grid and the timed images; shared pages counted once per process) and the renderer's own peak (VmHWM); Node's is the whole process's peak RSS (GNU time).`,
    `Other processes: the machine's CPU time minus the bench's own (its process and children) over each round's part (for Chromium: both visits and the timed images), in cores of ${os.cpus().length}; load average (1 min) before / after the section ${r.loadBefore.toFixed(2)} / ${r.loadAfter.toFixed(2)}. ${contended(r)}`,
    ...(errors.length ? [`Page errors: ${[...new Set(errors)].slice(0, 3).join('; ')}`] : []),
  ];
  return [
    markdownTable(['runtime', 'ms per image (median)', 'per round', 'time / Node batch 1', 'other processes meanwhile, cores (per round)'], perImage),
    markdownTable(['start-up', 'time to first image s (median)', 'per round', 'before script s', 'download / cache read s', 'session s', 'rest s', 'served MiB', 'peak RSS MiB (Chromium: tree sum)', 'renderer peak MiB'], start),
    targets,
    notes.join('\n\n'),
  ].join('\n\n');
}
