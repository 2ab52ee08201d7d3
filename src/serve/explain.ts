import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { sampleFull } from '../augment/sample-image.js';
import { GradCamUnsupported, gradCam, heatColor } from './grad-cam.js';
import type { ModelRunner } from './model-runner.js';

export interface Explanation {
  classIndex: number;
  label: string;
  layer: string;
  /** Heat in [0, 1] on the feature-map grid (rows of `width` numbers). */
  heatmap: { width: number; height: number; data: number[] };
  /** The heat map coloured, RGBA with heat as opacity, upscaled to `size` px: a PNG data URL to lay over the image. */
  heatmapPng: string;
  /** What the model sees: the decoded srcSize x srcSize RGB image, as a PNG data URL. */
  inputPng: string;
}

/** Grad-CAM of one decoded image (HWC uint8, side runner.srcSize) for its top class. */
export async function explainImage(runner: ModelRunner, pixels: Uint8Array, size = 256): Promise<Explanation> {
  const n = runner.inputSize;
  const buf = new Float32Array(n * n * 3);
  sampleFull(pixels, runner.srcSize, buf, 0, n);
  const input = tf.tensor4d(buf, [1, n, n, 3]);
  let cam;
  try {
    if (!runner.model) throw new GradCamUnsupported(`Grad-CAM: model ${runner.id} is not running on tfjs here (it needs the Layers model's gradients)`);
    cam = gradCam(runner.model, input, runner.architecture);
  } finally {
    input.dispose();
  }
  const rgba = Buffer.alloc(cam.width * cam.height * 4);
  cam.heat.forEach((v, i) => {
    const [r, g, b] = heatColor(v);
    rgba.set([r, g, b, Math.round(60 + 160 * v)], i * 4);
  });
  const heatPng = await sharp(rgba, { raw: { width: cam.width, height: cam.height, channels: 4 } })
    .resize(size, size, { kernel: 'cubic', fit: 'fill' })
    .png()
    .toBuffer();
  const inputPng = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length), { raw: { width: runner.srcSize, height: runner.srcSize, channels: 3 } })
    .png()
    .toBuffer();
  return {
    classIndex: cam.classIndex,
    label: runner.classes[cam.classIndex]!,
    layer: cam.layer,
    heatmap: { width: cam.width, height: cam.height, data: Array.from(cam.heat, (v) => Math.round(v * 1e4) / 1e4) },
    heatmapPng: `data:image/png;base64,${heatPng.toString('base64')}`,
    inputPng: `data:image/png;base64,${inputPng.toString('base64')}`,
  };
}
