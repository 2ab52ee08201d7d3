/**
 * Fake quantization helpers: TFLite's uint8 arithmetic (requantization, rounding, activation ranges) computed
 * exactly with float32 tensor ops. Used by FrozenForward's fakeQuant mode.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ActName, FloatGraph } from './tflite-graph.js';
import { Activation } from './tflite.js';

/** TFLite fused activation of an activation name. */
export const ACTIVATION_OF: Record<ActName, Activation> = { linear: Activation.NONE, relu: Activation.RELU, relu6: Activation.RELU6 };

/** Round half away from zero (gemmlowp's rounding), elementwise. */
export function roundHalfAway(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sign(x), tf.floor(tf.add(tf.abs(x), 0.5)));
}

/**
 * TFLite's MultiplyByQuantizedMultiplier(acc, m, shift) (SaturatingRoundingDoublingHighMul, then
 * RoundingDivideByPOT) computed exactly with float32 tensor ops, elementwise. `acc` holds integers with |acc| < 2^24;
 * m is the 31-bit multiplier. The 55-bit product |acc| * 2^left * m is formed in base-2^11 limbs (every partial
 * product and limb sum stays below 2^24, so float32 holds it exactly) and carried, so no rounding of float32
 * arithmetic enters: the result equals the integer kernel's bit for bit (tested against the reference on random
 * values).
 */
export function requantExact(acc: tf.Tensor, m: number, shift: number): tf.Tensor {
  return tf.tidy(() => {
    const left = shift > 0 ? shift : 0;
    const right = shift > 0 ? 0 : -shift;
    const B = 2048;
    const neg = tf.cast(tf.less(acc, 0), 'float32');
    const A = tf.mul(tf.abs(acc), 2 ** left); // < 2^33 with at most 24 significant bits: exact
    const a2 = tf.floor(tf.div(A, B * B));
    const rest = tf.sub(A, tf.mul(a2, B * B));
    const a1 = tf.floor(tf.div(rest, B));
    const a0 = tf.sub(rest, tf.mul(a1, B));
    const m2 = Math.floor(m / (B * B));
    const m1 = Math.floor((m - m2 * B * B) / B);
    const m0 = m - m2 * B * B - m1 * B;
    // |acc| * m = sum_k c_k 2^(11k); plus the SRDHM nudge 2^30 (2^30 - 1 for negative products) = 256 * 2^22 - neg.
    const c0 = tf.sub(tf.mul(a0, m0), neg);
    const c1 = tf.add(tf.mul(a0, m1), tf.mul(a1, m0));
    const c2 = tf.add(tf.add(tf.add(tf.mul(a0, m2), tf.mul(a1, m1)), tf.mul(a2, m0)), 256);
    const c3 = tf.add(tf.mul(a1, m2), tf.mul(a2, m1));
    const c4 = tf.mul(a2, m2);
    const carry = (d: tf.Tensor) => tf.floor(tf.div(d, B));
    const k0 = carry(c0);
    const d1 = tf.add(c1, k0);
    const k1 = carry(d1);
    const d2 = tf.add(c2, k1);
    const k2 = carry(d2);
    const r2 = tf.sub(d2, tf.mul(k2, B));
    const d3 = tf.add(c3, k2);
    const k3 = carry(d3);
    const r3 = tf.sub(d3, tf.mul(k3, B));
    const d4 = tf.add(c4, k3);
    // floor(X / 2^31) with X = d4 2^44 + r3 2^33 + r2 2^22 + (lower limbs < 2^22).
    const q = tf.add(tf.add(tf.mul(d4, 8192), tf.mul(r3, 4)), tf.floor(tf.div(r2, 512)));
    const t1 = tf.sub(q, tf.mul(tf.mul(neg, 2), q)); // sign back: SRDHM rounds half away from zero
    if (right === 0) return t1;
    const p = 2 ** right;
    const fl = tf.floor(tf.div(t1, p)); // arithmetic shift right
    const rem = tf.sub(t1, tf.mul(fl, p));
    const threshold = tf.add(neg, p / 2 - 1);
    return tf.add(fl, tf.cast(tf.greater(rem, threshold), 'float32'));
  });
}

/** Real-valued range [scale*(0-zp), scale*(255-zp)] a uint8 tensor can represent, or null. */
export function quantRange(g: FloatGraph, tensor: number): [number, number] | null {
  const q = g.tflite.tensors[tensor]?.quantization;
  if (!q || q.scale.length !== 1) return null;
  const zp = q.zeroPoint[0] ?? 0;
  return [q.scale[0]! * (0 - zp), q.scale[0]! * (255 - zp)];
}
