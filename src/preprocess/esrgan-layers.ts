import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * The two custom Keras layers of the `rrdn` ESRGAN models (@upscalerjs/esrgan-thick), re-implemented from the
 * package's own definition (packages/shared/src/esrgan/esrgan.ts): MultiplyBeta scales the residual by beta = 0.2,
 * PixelShuffle<k>x is depth-to-space by k (NHWC, 3 output channels).
 */
class MultiplyBeta extends tfl.layers.Layer {
  static className = 'MultiplyBeta';
  private readonly beta: number;
  constructor(config: { beta?: number; name?: string; trainable?: boolean; dtype?: string }) {
    super({ name: config.name, trainable: config.trainable });
    this.beta = config.beta ?? 0.2;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, this.beta);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), beta: this.beta };
  }
}

function pixelShuffle(scale: number): tf.serialization.SerializableConstructor<tfl.layers.Layer> {
  class PixelShuffle extends tfl.layers.Layer {
    static className = `PixelShuffle${scale}x`;
    override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
      const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
      return [s[0]!, s[1] === null ? null : s[1]! * scale, s[2] === null ? null : s[2]! * scale, 3];
    }
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return tf.depthToSpace((Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D, scale, 'NHWC');
    }
  }
  return PixelShuffle as unknown as tf.serialization.SerializableConstructor<tfl.layers.Layer>;
}

let registered = false;
/** Registers MultiplyBeta and PixelShuffle2x/3x/4x/8x with tfjs's serialization registry (idempotent). */
export function registerEsrganLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(MultiplyBeta as unknown as tf.serialization.SerializableConstructor<tfl.layers.Layer>);
  for (const s of [2, 3, 4, 8]) tf.serialization.registerClass(pixelShuffle(s));
  registered = true;
}
