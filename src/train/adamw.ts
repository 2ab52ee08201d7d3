import * as tf from '@tensorflow/tfjs-core';

/** Kernel of backends that compute one variable's AdamW update in one call (torch registers it). */
const FUSED_KERNEL = 'TorchAdamWUpdate';

export interface AdamWConfig {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/**
 * AdamW (Loshchilov & Hutter): Adam moments plus weight decay applied directly to the weights (decoupled),
 * w <- w - lr * (m_hat / (sqrt(v_hat) + eps) + wd * w). Decay applies where `decayMask` says (default: variables of
 * rank >= 2), never to biases or normalisation parameters. Per-variable lr multipliers support layer-wise lr decay.
 */
export class AdamW {
  lr: number;
  step = 0;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  constructor(
    readonly variables: tf.Variable[],
    readonly cfg: AdamWConfig,
    readonly lrMultipliers: number[] = variables.map(() => 1),
    readonly decayMask: boolean[] = variables.map((w) => w.rank >= 2),
  ) {
    this.lr = cfg.lr;
    this.m = tf.tidy(() => variables.map((w) => tf.variable(tf.zerosLike(w), false)));
    this.v = tf.tidy(() => variables.map((w) => tf.variable(tf.zerosLike(w), false)));
  }

  /** Applies one update; `grads[i]` belongs to `variables[i]`. Does not dispose the gradients. */
  apply(grads: tf.Tensor[]): void {
    this.step++;
    const { beta1, beta2, epsilon, weightDecay } = this.cfg;
    const bc1 = 1 - Math.pow(beta1, this.step);
    const bc2 = 1 - Math.pow(beta2, this.step);
    if (tf.getKernel(FUSED_KERNEL, tf.getBackend())) {
      // One kernel per variable on backends that register it (torch): the same update in a few passes.
      this.variables.forEach((w, i) => {
        const g = grads[i]!;
        if (g.dtype !== 'float32' || w.dtype !== 'float32') throw new Error(`AdamW: ${w.name} is ${w.dtype} with a ${g.dtype} gradient (float32 expected)`);
        const attrs = { lr: this.lr * this.lrMultipliers[i]!, beta1, beta2, epsilon, weightDecay: this.decayMask[i] ? weightDecay : 0, bc1, bc2 };
        const [w2, m2, v2] = tf.engine().runKernel(FUSED_KERNEL, { w, g, m: this.m[i]!, v: this.v[i]! }, attrs) as tf.Tensor[];
        w.assign(w2!);
        this.m[i]!.assign(m2!);
        this.v[i]!.assign(v2!);
        tf.dispose([w2!, m2!, v2!]);
      });
      return;
    }
    tf.tidy(() => {
      this.variables.forEach((w, i) => {
        const g = grads[i]!;
        const m = this.m[i]!;
        const v = this.v[i]!;
        const lr = this.lr * this.lrMultipliers[i]!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), epsilon));
        let next = tf.sub(w, tf.mul(update, lr));
        if (weightDecay > 0 && this.decayMask[i]) next = tf.sub(next, tf.mul(w, lr * weightDecay));
        w.assign(next);
      });
    });
  }

  /** Moment tensors for checkpoints, in variable order. */
  stateTensors(): tf.Tensor[] {
    return [...this.m, ...this.v];
  }

  loadState(step: number, lr: number, tensors: tf.Tensor[]): void {
    if (tensors.length !== this.m.length * 2) throw new Error(`optimizer state holds ${tensors.length} tensors, expected ${this.m.length * 2}`);
    this.step = step;
    this.lr = lr;
    [...this.m, ...this.v].forEach((slot, i) => slot.assign(tensors[i]!));
  }

  dispose(): void {
    [...this.m, ...this.v].forEach((t) => t.dispose());
  }
}
