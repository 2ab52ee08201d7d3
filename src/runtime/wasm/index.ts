import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
// The stock wasm kernels must be registered before ours replace some of them (a later import would overwrite ours).
import '@tensorflow/tfjs-backend-wasm';
import { conv2DBackpropFilter, conv2DBackpropInput } from './conv2d.js';
import { depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput } from './depthwise.js';
import { unsortedSegmentSum } from './segment.js';
import { tile } from './tile.js';
import { captureKernel } from './util.js';

export { capturedKernel } from './util.js';

/** Kernels added to (or, for Conv2DBackpropInput and Tile, replaced on) the 'wasm' backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = [
  'Conv2DBackpropInput',
  'Tile',
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'UnsortedSegmentSum',
];

const impls: Record<string, KernelFunc> = {
  Conv2DBackpropInput: conv2DBackpropInput as unknown as KernelFunc,
  Conv2DBackpropFilter: conv2DBackpropFilter as unknown as KernelFunc,
  DepthwiseConv2dNativeBackpropInput: depthwiseConv2dNativeBackpropInput as unknown as KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseConv2dNativeBackpropFilter as unknown as KernelFunc,
  UnsortedSegmentSum: unsortedSegmentSum as unknown as KernelFunc,
  Tile: tile as unknown as KernelFunc,
};

/**
 * Registers the training kernels the wasm backend lacks, and replaces its slow Conv2DBackpropInput with one built on
 * its own (XNNPACK) forward conv and its per-element Tile with a block-copy one. Idempotent.
 */
export function registerWasmTrainingKernels(): void {
  for (const name of WASM_TRAINING_KERNELS) {
    const existing = getKernel(name, 'wasm');
    if (existing && existing.kernelFunc === impls[name]) continue;
    if (existing) {
      captureKernel(name); // the stock kernel stays reachable (NCHW fallback, benchmarks)
      unregisterKernel(name, 'wasm');
    }
    const config: KernelConfig = { kernelName: name, backendName: 'wasm', kernelFunc: impls[name]! };
    registerKernel(config);
  }
}
