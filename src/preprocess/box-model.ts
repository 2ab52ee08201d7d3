import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Box } from './boxes.js';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/random.js';
import { fileModelHandler, fileSaveHandler } from './file-io.js';
import { AdamW } from '../train/adamw.js';
import { cosineWithWarmup } from '../train/schedulers.js';

/**
 * The seed's "detector fine-tuned for low resolution", in its smallest honest form: a box regressor that sees only the
 * 64px image and predicts the bird box the COCO detector found on the 256px copy (pseudo-boxes). A compact CNN
 * (4 stride-2 stages 32-64-128-256 with BatchNorm, global average pooling, sigmoid x0,y0,x1,y1), L1 loss on box
 * corners normalised to [0, 1], horizontal-flip augmentation.
 */
export function buildBoxModel(size = 64, seed = 0): tfl.LayersModel {
  let k = 0;
  const init = () => tfl.initializers.heNormal({ seed: seed * 1000 + k++ });
  const input = tfl.input({ shape: [size, size, 3] });
  let x: tfl.SymbolicTensor = input;
  for (const [i, filters] of [32, 64, 128, 256].entries()) {
    x = tfl.layers.conv2d({ filters, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init(), name: `s${i}a` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ momentum: 0.9, name: `s${i}a_bn` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init(), name: `s${i}b` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.batchNormalization({ momentum: 0.9, name: `s${i}b_bn` }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.reLU().apply(x) as tfl.SymbolicTensor;
  }
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 64, activation: 'relu', kernelInitializer: init(), name: 'head1' }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 4, activation: 'sigmoid', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed * 1000 + k++ }), name: 'box' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'plumage_box_model' });
}

export interface BoxSample {
  /** size x size RGB uint8 HWC. */
  rgb: Uint8Array;
  /** Target box in the image's pixels. */
  box: Box;
}

export interface BoxTrainOptions {
  size?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  onEpoch?: (epoch: number, loss: number) => void;
}

function toTensors(samples: BoxSample[], size: number, flip: boolean[]): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const n = samples.length;
  const x = new Float32Array(n * size * size * 3);
  const y = new Float32Array(n * 4);
  samples.forEach((s, i) => {
    const o = i * size * size * 3;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const src = (r * size + (flip[i] ? size - 1 - c : c)) * 3;
        const dst = o + (r * size + c) * 3;
        x[dst] = s.rgb[src]! / 255;
        x[dst + 1] = s.rgb[src + 1]! / 255;
        x[dst + 2] = s.rgb[src + 2]! / 255;
      }
    }
    const x0 = s.box.x / size;
    const x1 = (s.box.x + s.box.w) / size;
    y.set([flip[i] ? 1 - x1 : x0, s.box.y / size, flip[i] ? 1 - x0 : x1, (s.box.y + s.box.h) / size], i * 4);
  });
  return { x: tf.tensor4d(x, [n, size, size, 3]), y: tf.tensor2d(y, [n, 4]) };
}

/** Trains a fresh box model (Adam, L1 on normalised corners, each batch drawn with random flips); seeded (initial weights, order, flips). */
export async function trainBoxModel(samples: BoxSample[], opts: BoxTrainOptions = {}): Promise<tfl.LayersModel> {
  const size = opts.size ?? 64;
  const epochs = opts.epochs ?? 15;
  const batchSize = opts.batchSize ?? 32;
  const rng = new Rng(opts.seed ?? 0);
  const model = buildBoxModel(size, opts.seed ?? 0);
  const baseLr = opts.lr ?? 2e-3;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  // Adam (no weight decay) with tfjs's default epsilon; cosine decay per epoch.
  const optimizer = new AdamW(vars, { lr: baseLr, weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
  const steps = Math.ceil(samples.length / batchSize);
  for (let epoch = 0; epoch < epochs; epoch++) {
    optimizer.lr = cosineWithWarmup(epoch, epochs, 0, baseLr, 0);
    const order = rng.shuffle(samples.map((_, i) => i));
    let lossSum = 0;
    for (let s = 0; s < steps; s++) {
      const batch = order.slice(s * batchSize, (s + 1) * batchSize).map((i) => samples[i]!);
      const { x, y } = toTensors(batch, size, batch.map(() => rng.next() < 0.5));
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.abs(tf.sub(model.apply(x, { training: true }) as tf.Tensor, y))) as tf.Scalar, vars);
      optimizer.apply(vars.map((v) => grads[v.name]!));
      lossSum += (await value.data())[0]!;
      tf.dispose([x, y, value, ...Object.values(grads)]);
    }
    opts.onEpoch?.(epoch + 1, lossSum / steps);
  }
  optimizer.dispose();
  return model;
}

/** Predicts one box per image (pixels of the size x size input). */
export function predictBoxes(model: tfl.LayersModel, images: Uint8Array[], size = 64, batchSize = 64): Box[] {
  const out: Box[] = [];
  for (let i = 0; i < images.length; i += batchSize) {
    const chunk = images.slice(i, i + batchSize).map((rgb) => ({ rgb, box: { x: 0, y: 0, w: 1, h: 1 } }));
    const { x, y } = toTensors(chunk, size, chunk.map(() => false));
    const p = model.predict(x) as tf.Tensor;
    const v = p.dataSync();
    tf.dispose([x, y, p]);
    for (let k = 0; k < chunk.length; k++) {
      const x0 = Math.min(v[k * 4]!, v[k * 4 + 2]!) * size;
      const x1 = Math.max(v[k * 4]!, v[k * 4 + 2]!) * size;
      const y0 = Math.min(v[k * 4 + 1]!, v[k * 4 + 3]!) * size;
      const y1 = Math.max(v[k * 4 + 1]!, v[k * 4 + 3]!) * size;
      out.push({ x: x0, y: y0, w: x1 - x0, h: y1 - y0 });
    }
  }
  return out;
}

/** Saves a box model as model.json + weights.bin in `dir`. */
export async function saveBoxModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(fileSaveHandler(dir));
}

/** Loads a box model saved by saveBoxModel. */
export async function loadBoxModel(dir: string): Promise<tfl.LayersModel> {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) throw new UserError(`--box-model: ${file} not found (train one with npm run bench:boxes -- --save DIR)`);
  return tfl.loadLayersModel(fileModelHandler(file));
}
