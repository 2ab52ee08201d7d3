import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Kernels registered by backends that compute training-mode batch norm (and batch norm + activation) in one call (torch does). */
const FUSED_KERNEL = 'TorchBatchNormTraining';
const FUSED_ACT_KERNEL = 'TorchBatchNormActTraining';

export type BatchNormActivation = 'relu' | 'relu6';

export interface BatchNormArgs {
  momentum?: number;
  epsilon?: number;
  /** Activation applied to the normalised output (what a separate ReLU / ReLU6 layer after it would compute). */
  activation?: BatchNormActivation;
  name?: string;
}

/**
 * Batch normalisation over the last axis, with tfjs-layers' BatchNormalization semantics and weight names (gamma,
 * beta, moving_mean, moving_variance; moving averages updated in training with `momentum`). In training on a
 * backend that registers the fused kernel, statistics, normalisation and its gradient are one kernel each instead of
 * tfjs's moments + batchNorm composition (several passes over the activation and saved intermediates); elsewhere it
 * computes exactly what tfjs-layers computes. With `activation`, the layer also applies ReLU or ReLU6 (as a
 * following reLU layer would; weights and names unchanged); on torch in training that is the same kernel, which keeps
 * one saved activation per layer instead of two.
 */
export class BatchNorm extends tfl.layers.Layer {
  static className = 'PlumageBatchNorm';
  readonly momentum: number;
  readonly epsilon: number;
  readonly activation: BatchNormActivation | null;
  private gamma!: tfl.LayerVariable;
  private beta!: tfl.LayerVariable;
  private movingMean!: tfl.LayerVariable;
  private movingVariance!: tfl.LayerVariable;

  constructor(args: BatchNormArgs = {}) {
    super(args);
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    const act = args.activation ?? null;
    if (act !== null && act !== 'relu' && act !== 'relu6') throw new Error(`${this.name}: activation must be 'relu' or 'relu6', got '${String(act)}'`);
    this.activation = act;
  }

  private activate(y: tf.Tensor): tf.Tensor {
    if (this.activation === 'relu') return tf.relu(y);
    if (this.activation === 'relu6') return tf.relu6(y);
    return y;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const c = shape[shape.length - 1];
    if (c == null) throw new Error(`${this.name}: the channel dimension must be known`);
    this.gamma = this.addWeight('gamma', [c], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('beta', [c], 'float32', tfl.initializers.zeros());
    this.movingMean = this.addWeight('moving_mean', [c], 'float32', tfl.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [c], 'float32', tfl.initializers.ones(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const gamma = this.gamma.read();
    const beta = this.beta.read();
    if (!kwargs.training) {
      return tf.tidy(() => this.activate(tf.batchNorm(x, this.movingMean.read(), this.movingVariance.read(), beta, gamma, this.epsilon)));
    }
    const [y, mean, variance] = tf.tidy(() => {
      const kernel = this.activation ? FUSED_ACT_KERNEL : FUSED_KERNEL;
      if (x.rank === 4 && x.dtype === 'float32' && tf.getKernel(kernel, tf.getBackend())) {
        const attrs: tf.NamedAttrMap = { varianceEpsilon: this.epsilon };
        if (this.activation) attrs.activation = this.activation;
        const out = tf.engine().runKernel(kernel, { x, scale: gamma, offset: beta }, attrs) as tf.Tensor[];
        return [out[0]!, out[1]!, out[2]!];
      }
      const m = tf.moments(x, Array.from({ length: x.rank - 1 }, (_, i) => i));
      return [this.activate(tf.batchNorm(x, m.mean, m.variance, beta, gamma, this.epsilon)), m.mean, m.variance];
    });
    tf.tidy(() => {
      for (const [v, value] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const) {
        const old = v.read();
        v.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - this.momentum)));
      }
    });
    tf.dispose([mean, variance]);
    return y;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon, ...(this.activation ? { activation: this.activation } : {}) };
  }
}
tf.serialization.registerClass(BatchNorm);
