import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
// plumage's own layer classes, in case an export keeps them (stock exports do not need them).
import '../../src/models/layers/batch-norm.js';
import '../../src/models/layers/seeded-dropout.js';
import { sampleFull } from '../../src/augment/sample-image.js';
import { gradCam, heatColor, supportsGradCam } from '../../src/serve/grad-cam.js';
import type { Explanation } from './api.js';

setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });

export interface BrowserModel {
  model: tfl.LayersModel;
  classes: string[];
  inputSize: number;
  /** Side the image is drawn at before the model's own resampling (the server's decode size). */
  decodeSize: number;
  backend: string;
}

/** Picks webgl, else wasm, else cpu: whichever initialises in this browser. */
async function pickBackend(): Promise<string> {
  for (const name of ['webgl', 'wasm', 'cpu']) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      /* next backend */
    }
  }
  throw new Error('no tfjs backend initialised (webgl, wasm, cpu)');
}

interface ExportMeta {
  classes?: string[];
  inputSize?: number;
  decodeSize?: number;
}

/**
 * Loads the tfjs export (`plumage export --format tfjs`: model.json whose userDefinedMetadata.plumage holds classes,
 * inputSize and decodeSize; the network outputs logits on NHWC RGB input in [0, 1]).
 */
export async function loadBrowserModel(url: string, fallbackClasses: string[], fallbackSize: number): Promise<BrowserModel> {
  const backend = await pickBackend();
  const model = await tfl.loadLayersModel(url);
  const udm = (model.getUserDefinedMetadata() ?? {}) as ExportMeta & { plumage?: ExportMeta };
  const meta = udm.plumage ?? udm;
  const inputSize = meta.inputSize ?? (model.inputs[0]!.shape[1] as number) ?? fallbackSize;
  return { model, classes: meta.classes ?? fallbackClasses, inputSize, decodeSize: meta.decodeSize ?? Math.max(64, inputSize), backend };
}

/** Draws an image into a side x side canvas (the decode the server does) and returns HWC uint8 RGB. */
function pixelsOf(img: CanvasImageSource, side: number): { rgb: Uint8Array; canvas: HTMLCanvasElement } {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = side;
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(img, 0, 0, side, side);
  const rgba = ctx.getImageData(0, 0, side, side).data;
  const rgb = new Uint8Array(side * side * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set([rgba[i]!, rgba[i + 1]!, rgba[i + 2]!], j);
  return { rgb, canvas };
}

/** Top-5 and Grad-CAM computed in the browser, no server round-trip. */
export async function classifyInBrowser(bm: BrowserModel, img: HTMLImageElement): Promise<Explanation> {
  const t0 = performance.now();
  const side = bm.decodeSize;
  const { rgb, canvas } = pixelsOf(img, side);
  const buf = new Float32Array(bm.inputSize * bm.inputSize * 3);
  sampleFull(rgb, side, buf, 0, bm.inputSize);
  const input = tf.tensor4d(buf, [1, bm.inputSize, bm.inputSize, 3]);
  const last = bm.model.layers[bm.model.layers.length - 1]!;
  const isSoftmax = (last.getConfig() as { activation?: string }).activation === 'softmax';
  const out = tf.tidy(() => {
    const y = bm.model.predict(input) as tf.Tensor;
    return isSoftmax ? y : tf.softmax(y);
  });
  const probs = await out.data();
  out.dispose();
  const top = Array.from(probs, (p, i) => ({ label: bm.classes[i] ?? `class ${i}`, classIndex: i, probability: p }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, 5);
  let heatmapPng: string | undefined;
  if (supportsGradCam(bm.model, 'tfjs export')) {
    const cam = gradCam(bm.model, input as tf.Tensor4D, 'tfjs export', top[0]!.classIndex);
    const c = document.createElement('canvas');
    c.width = cam.width;
    c.height = cam.height;
    const im = c.getContext('2d')!.createImageData(cam.width, cam.height);
    cam.heat.forEach((v, i) => im.data.set([...heatColor(v), Math.round(60 + 160 * v)], i * 4));
    c.getContext('2d')!.putImageData(im, 0, 0);
    heatmapPng = c.toDataURL('image/png');
  }
  input.dispose();
  const ms = performance.now() - t0;
  return { top, heatmapPng, inputPng: canvas.toDataURL('image/png'), timing: { totalMs: Math.round(ms * 10) / 10, inferenceMs: Math.round(ms * 10) / 10, batchSize: 1 } };
}
