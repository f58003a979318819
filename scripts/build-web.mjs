#!/usr/bin/env node
/**
 * Builds the browser apps in web/ into dist/web/<app>/ (part of `npm run build`, so `npm ci`'s
 * prepare step makes them): esbuild bundles each app's main.ts with the platform-neutral core it
 * imports; static files are copied; the explorer gets onnxruntime-web's prebuilt ES modules and
 * their WebAssembly files under ort/ (loaded at run time from the site's own folder: no CDN).
 */
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const ortDist = path.dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));

// The two onnxruntime-web builds the explorer loads (by dynamic import, one per page): the plain
// WebAssembly build (smallest download) and the WebGPU build (WebGPU and WebAssembly providers).
export const ORT_FILES = [
  'ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm',
  'ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm',
];

const apps = {
  explorer: { static: ['index.html', 'style.css'], ort: true },
  dashboard: { static: ['index.html', 'style.css'], ort: false },
};

function copy(from, to) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

for (const [name, app] of Object.entries(apps)) {
  const src = path.join(root, 'web', name);
  const out = path.join(root, 'dist', 'web', name);
  fs.rmSync(out, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [path.join(src, 'main.ts')],
    outfile: path.join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: true,
    // onnxruntime-web is loaded from ./ort/ at run time, never bundled
    external: ['./ort/*'],
    logLevel: 'warning',
  });
  for (const f of app.static) copy(path.join(src, f), path.join(out, f));
  if (app.ort) for (const f of ORT_FILES) copy(path.join(ortDist, f), path.join(out, 'ort', f));
}
