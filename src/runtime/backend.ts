import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
import path from 'node:path';

import { installLeanGradients } from './lean-gradients.js';

export type BackendName = 'auto' | 'wasm' | 'cpu' | 'torch';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'wasm', 'cpu', 'torch'];

const require = createRequire(import.meta.url);

async function initWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasm.setWasmPaths(dir);
  const { registerWasmTrainingKernels } = await import('./wasm/index.js');
  registerWasmTrainingKernels();
}

/** Tries to load the native libtorch backend; returns the reason when it cannot. */
async function initTorch(): Promise<string | null> {
  try {
    const pkg = '@plumage/tfjs-backend-torch';
    const mod = (await import(pkg)) as { loadError?: Error | null };
    if (mod.loadError) return mod.loadError.message;
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Selects the tfjs backend by name. `auto` picks torch when its addon loads, else wasm (with a one-line notice).
 * Returns the name of the backend in use. Also installs the memory-lean backward pass (runtime/lean-gradients.ts).
 */
export async function selectBackend(name: BackendName = 'auto', log: (msg: string) => void = (m) => console.error(m)): Promise<string> {
  installLeanGradients();
  if (name === 'torch' || name === 'auto') {
    const why = await initTorch();
    if (why === null && (await tf.setBackend('torch'))) return 'torch';
    if (name === 'torch') throw new Error(`--backend torch: the libtorch addon did not load (${why ?? 'setBackend failed'})`);
    log(`plumage: torch backend unavailable (${firstLine(why)}); using wasm`);
  }
  if (name === 'wasm' || name === 'auto') {
    await initWasm();
    if (!(await tf.setBackend('wasm'))) throw new Error('--backend wasm: the wasm backend failed to initialise');
    return 'wasm';
  }
  if (name === 'cpu') {
    await tf.setBackend('cpu');
    return 'cpu';
  }
  throw new Error(`--backend: unknown backend '${name}' (expected one of ${BACKEND_NAMES.join(', ')})`);
}

function firstLine(s: string | null): string {
  return (s ?? 'unknown reason').split('\n')[0]!.slice(0, 160);
}
