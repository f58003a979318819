/**
 * Which onnxruntime-web build runs the generator, and how: WebGPU when the browser offers an
 * adapter, WebAssembly otherwise (`#backend=` forces one). WebAssembly uses threads only when the
 * page is cross-origin isolated (SharedArrayBuffer); a plain static host gets one thread.
 * onnxruntime-web is loaded from the site's own ort/ folder, never from a CDN.
 */
import type * as Ort from 'onnxruntime-web';
import type { Backend } from '../../src/explore/explorer-state.js';

export type OrtModule = typeof Ort;

export interface Runtime {
  ort: OrtModule;
  backend: Backend;
  threads: number;
  /** For the badge: "WebGPU", "WebAssembly, 2 threads". */
  label: string;
  /** Why a requested setting was not used, if one was not. */
  note?: string;
}

interface GpuNavigator { gpu?: { requestAdapter(): Promise<unknown> } }

async function hasWebGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & GpuNavigator).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

export async function chooseRuntime(forced: Backend | undefined, threadsWanted: number | undefined): Promise<Runtime> {
  let note: string | undefined;
  let backend: Backend = forced ?? ((await hasWebGpu()) ? 'webgpu' : 'wasm');
  if (backend === 'webgpu' && forced && !(await hasWebGpu())) {
    note = 'this browser offers no WebGPU adapter: using WebAssembly';
    backend = 'wasm';
  }
  let threads = 1;
  if (self.crossOriginIsolated) threads = threadsWanted ?? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
  else if (threadsWanted && threadsWanted > 1) note = 'threads need a cross-origin isolated page (biggan explore sends the headers): using 1';
  const file = backend === 'webgpu' ? 'ort/ort.webgpu.min.mjs' : 'ort/ort.wasm.min.mjs';
  const ort = (await import(new URL(file, location.href).href)) as OrtModule;
  ort.env.wasm.wasmPaths = new URL('ort/', location.href).href;
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = 'error';
  const label = backend === 'webgpu' ? 'WebGPU' : `WebAssembly, ${threads} thread${threads > 1 ? 's' : ''}`;
  return { ort, backend, threads, label, ...(note ? { note } : {}) };
}

export async function createSession(rt: Runtime, bytes: Uint8Array): Promise<Ort.InferenceSession> {
  return rt.ort.InferenceSession.create(bytes, {
    executionProviders: rt.backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3, // onnxruntime's warnings (e.g. shape ops placed on the CPU) would reach the console as errors
  });
}
