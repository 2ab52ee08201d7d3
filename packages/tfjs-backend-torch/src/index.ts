// @plumage/tfjs-backend-torch: registers the 'torch' TensorFlow.js backend (libtorch/ATen, via an N-API addon).
// Importing never throws: when the addon is missing or fails to load, `loadError` says why.
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import { TorchBackend } from './backend.js';
import { BACKEND } from './names.js';
import { kernelNames, profile, registerTorchKernels } from './kernels.js';
import { type Native, addonPath, loadNative } from './native.js';
import { installFusedGradients, registerBatchNormTraining } from './gradients.js';

export const BACKEND_NAME = BACKEND;
export { TorchBackend, kernelNames, addonPath, profile };

/** null when the addon loaded and the backend is registered; otherwise the reason it is unavailable. */
export let loadError: Error | null = null;
/** The addon's functions (null when it did not load). */
export let native: Native | null = null;

function init(): void {
  let n: Native;
  try {
    n = loadNative();
  } catch (err) {
    const e = err as Error;
    loadError = new Error(
      `@plumage/tfjs-backend-torch: native addon not available (${e.message.split('\n')[0]}). Build it with \`npm run build:torch\` (needs libtorch: Debian libtorch-dev or LIBTORCH=/path).`,
    );
    return;
  }
  const threads = Number(process.env.PLUMAGE_THREADS ?? '') || (os.availableParallelism?.() ?? os.cpus().length);
  n.setNumThreads(threads);
  const device = process.env.PLUMAGE_DEVICE ?? 'cpu';
  try {
    if (device !== 'cpu') n.setDevice(device);
  } catch (err) {
    loadError = err as Error;
    return;
  }
  native = n;
  if (tf.findBackend(BACKEND_NAME) == null) {
    registerTorchKernels(BACKEND_NAME);
    registerBatchNormTraining(); // the kernel's own gradient (not a wrapper of a tfjs one), so always registered
    tf.registerBackend(
      BACKEND_NAME,
      () => {
        // At backend creation tfjs's gradients are registered (tfjs-layers / register_all_gradients imported).
        if (process.env.PLUMAGE_TORCH_FUSED_GRADS !== '0') installFusedGradients();
        return new TorchBackend(n, device);
      },
      1,
    );
    if (process.env.PLUMAGE_TORCH_FUSED_GRADS !== '0') installFusedGradients();
  }
}

init();

/** Current intra-op thread count of libtorch. */
export function getNumThreads(): number {
  return native ? native.getNumThreads() : 0;
}

/** Sets libtorch's intra-op thread count (also settable with PLUMAGE_THREADS before import). */
export function setNumThreads(n: number): void {
  native?.setNumThreads(n);
}
