import * as tf from '@tensorflow/tfjs-core';

/** Identity whose gradient is zero: the teacher side of a distillation term. */
const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

/**
 * Mean KL(teacher || student) over a batch whose first half are students (64px views) and second half teachers
 * (256px copies of the same images), both as logits softened by `temperature`.
 */
export function crossResolutionLoss(logits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = logits.shape[0] / 2;
    const c = logits.shape[1];
    const student = tf.logSoftmax(tf.div(tf.slice(logits, [0, 0], [n, c]), temperature));
    const teacherLog = stopGradient(tf.logSoftmax(tf.div(tf.slice(logits, [n, 0], [n, c]), temperature)));
    return tf.mean(tf.sum(tf.mul(tf.exp(teacherLog), tf.sub(teacherLog, student)), 1)) as tf.Scalar;
  });
}
