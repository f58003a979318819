/**
 * Downloads the site's ONNX model once: with progress, and kept in the Cache API (where the page
 * is a secure context: https or localhost) under its content-hashed name, so later visits read it
 * from disk. Elsewhere the browser's HTTP cache is all there is.
 */
import type { SiteModel } from '../../src/explore/site-model.js';

const CACHE = 'biggan-ts-models';

export interface Downloaded {
  bytes: Uint8Array;
  fromCache: boolean;
}

export async function downloadModel(model: SiteModel, onProgress: (loaded: number, total: number) => void): Promise<Downloaded> {
  const url = new URL(model.file, location.href).href;
  const cache = 'caches' in self ? await caches.open(CACHE).catch(() => undefined) : undefined;
  const hit = await cache?.match(url);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    if (bytes.length === model.bytes) {
      onProgress(bytes.length, model.bytes);
      return { bytes, fromCache: true };
    }
    await cache!.delete(url);
  }
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`downloading ${model.file} failed: HTTP ${res.status}`);
  const bytes = new Uint8Array(model.bytes);
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > bytes.length) throw new Error(`${model.file} is larger than model.json says (${model.bytes} bytes)`);
    bytes.set(value, loaded);
    loaded += value.length;
    onProgress(loaded, model.bytes);
  }
  if (loaded !== model.bytes) throw new Error(`${model.file} is ${loaded} bytes, model.json says ${model.bytes}`);
  if (cache) {
    // keep one model per site folder: drop older generators cached for the same page
    const folder = new URL('.', url).href;
    for (const req of await cache.keys()) if (req.url.startsWith(folder) && req.url !== url) await cache.delete(req);
    await cache.put(url, new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } })).catch(() => {});
  }
  return { bytes, fromCache: false };
}
