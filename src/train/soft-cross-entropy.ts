import * as tf from '@tensorflow/tfjs-core';

/** Mean cross-entropy between soft targets [B, C] (already label-smoothed / CutMix-mixed) and logits [B, C]. */
export function softCrossEntropy(targets: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), -1))) as tf.Scalar);
}

/** One-hot targets with label smoothing eps: (1 - eps) on the label plus eps / C everywhere. */
export function smoothedTargets(labels: number[], numClasses: number, eps: number): Float32Array {
  const t = new Float32Array(labels.length * numClasses).fill(eps / numClasses);
  labels.forEach((l, i) => (t[i * numClasses + l]! += 1 - eps));
  return t;
}
