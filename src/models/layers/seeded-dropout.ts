import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed } from '../../util/random.js';

/**
 * Dropout whose masks come from a seeded stream that the trainer resets every epoch,
 * so a resumed run draws exactly the masks the uninterrupted run would have drawn.
 */
let streamSeed = 12345;
let calls = 0;

export function setDropoutStream(seed: number): void {
  streamSeed = seed >>> 0;
  calls = 0;
}

export class SeededDropout extends tfl.layers.Layer {
  static className = 'SeededDropout';
  readonly rate: number;
  constructor(args: { rate: number; name?: string }) {
    super(args);
    this.rate = args.rate;
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!kwargs.training || this.rate <= 0) return x;
    return tf.tidy(() => {
      const seed = deriveSeed(streamSeed, calls++);
      const keep = tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seed), this.rate);
      return tf.mul(x, tf.mul(tf.cast(keep, 'float32'), 1 / (1 - this.rate)));
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}
tf.serialization.registerClass(SeededDropout);
