import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { sampleFull } from '../augment/sample-image.js';

export interface PredictOptions {
  inputSize: number;
  batchSize?: number;
  /** Average the softmax of the image and its mirror image. */
  hflipTta?: boolean;
  onBatch?: (done: number) => void;
}

/** Softmax probabilities [N * numClasses] for HWC uint8 images of side srcSize. */
export async function predictProbs(model: tfl.LayersModel, images: Uint8Array[], srcSize: number, opts: PredictOptions): Promise<Float32Array> {
  const { inputSize } = opts;
  const batchSize = opts.batchSize ?? 64;
  const views = opts.hflipTta ? [false, true] : [false];
  const numClasses = (model.outputs[0]!.shape[1] as number) ?? 0;
  const out = new Float32Array(images.length * numClasses);
  const imgLen = inputSize * inputSize * 3;
  for (let start = 0; start < images.length; start += batchSize) {
    const n = Math.min(batchSize, images.length - start);
    for (const flip of views) {
      const buf = new Float32Array(n * imgLen);
      for (let i = 0; i < n; i++) sampleFull(images[start + i]!, srcSize, buf, i * imgLen, inputSize, flip);
      const probs = tf.tidy(() => tf.softmax(model.apply(tf.tensor4d(buf, [n, inputSize, inputSize, 3]), { training: false }) as tf.Tensor));
      const data = await probs.data<'float32'>();
      probs.dispose();
      for (let i = 0; i < data.length; i++) out[start * numClasses + i]! += data[i]! / views.length;
    }
    opts.onBatch?.(start + n);
  }
  return out;
}
