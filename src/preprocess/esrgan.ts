import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../util/errors.js';
import { registerEsrganLayers } from './esrgan-layers.js';
import { fileModelHandler } from './file-io.js';

export type EsrganMethod = 'esrgan-slim' | 'esrgan-medium' | 'esrgan-thick';
export const ESRGAN_METHODS: readonly EsrganMethod[] = ['esrgan-slim', 'esrgan-medium', 'esrgan-thick'];

/**
 * Input value range per package (from @upscalerjs/shared's getESRGANModelDefinition): the `rdn` models (slim, medium)
 * take and return 0-255, the `rrdn` model (thick) 0-1 and needs the custom layers.
 */
const RANGE: Record<EsrganMethod, 255 | 1> = { 'esrgan-slim': 255, 'esrgan-medium': 255, 'esrgan-thick': 1 };

const require = createRequire(import.meta.url);

/** The installed package's folder (its exports map hides package.json, so walk up from its entry point). */
function packageDir(name: string): string {
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new UserError(`${name} is not installed (npm install); it holds the ESRGAN weights`);
  }
  let dir = path.dirname(entry);
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj) && (JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === name) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new UserError(`cannot find the folder of ${name}`);
    dir = up;
  }
}

export function esrganModelPath(method: EsrganMethod, scale: number): string {
  return path.join(packageDir(`@upscalerjs/${method}`), 'models', `x${scale}`, 'model.json');
}

export interface EsrganModel {
  method: EsrganMethod;
  scale: number;
  model: tfl.LayersModel;
  /** 255 or 1: what pixel value 255 becomes at the model's input (and output). */
  range: 255 | 1;
}

const loaded = new Map<string, Promise<EsrganModel>>();

/** Loads (once per process) the ESRGAN layers model of `method` at `scale` from the installed npm package. */
export function loadEsrgan(method: EsrganMethod, scale: number): Promise<EsrganModel> {
  if (![2, 3, 4, 8].includes(scale)) throw new UserError(`--scale: ${method} has x2, x3, x4 and x8 models (got ${scale})`);
  const key = `${method}x${scale}`;
  let p = loaded.get(key);
  if (!p) {
    registerEsrganLayers();
    p = tfl.loadLayersModel(fileModelHandler(esrganModelPath(method, scale))).then((model) => ({ method, scale, model, range: RANGE[method] }));
    loaded.set(key, p);
  }
  return p;
}

/**
 * Upscales one RGB uint8 HWC image by the model's scale. Images larger than `tile` px are cut into tiles with
 * `overlap` px of context on each side; only each tile's centre is kept, so seams get the same receptive field as the
 * interior. Output: RGB uint8 HWC of (h*scale) x (w*scale), values clipped to 0-255.
 */
export function esrganUpscale(m: EsrganModel, rgb: Uint8Array, width: number, height: number, tile = 128, overlap = 8): Uint8Array {
  const s = m.scale;
  const W = width * s;
  const out = new Uint8Array(W * height * s * 3);
  const img = tf.tidy(() => tf.mul(tf.tensor3d(Float32Array.from(rgb), [height, width, 3]), m.range / 255));
  try {
    for (let ty = 0; ty < height; ty += tile) {
      for (let tx = 0; tx < width; tx += tile) {
        const th = Math.min(tile, height - ty);
        const tw = Math.min(tile, width - tx);
        const y0 = Math.max(0, ty - overlap);
        const x0 = Math.max(0, tx - overlap);
        const y1 = Math.min(height, ty + th + overlap);
        const x1 = Math.min(width, tx + tw + overlap);
        const data = tf.tidy(() => {
          const patch = tf.expandDims(tf.slice(img, [y0, x0, 0], [y1 - y0, x1 - x0, 3]), 0);
          const y = tf.squeeze(m.model.predict(patch) as tf.Tensor4D, [0]) as tf.Tensor3D;
          const centre = tf.slice(y, [(ty - y0) * s, (tx - x0) * s, 0], [th * s, tw * s, 3]);
          return tf.clipByValue(tf.round(tf.mul(centre, 255 / m.range)), 0, 255);
        });
        const v = data.dataSync();
        data.dispose();
        for (let r = 0; r < th * s; r++) {
          const dst = ((ty * s + r) * W + tx * s) * 3;
          for (let i = 0; i < tw * s * 3; i++) out[dst + i] = v[r * tw * s * 3 + i]!;
        }
      }
    }
  } finally {
    img.dispose();
  }
  return out;
}
