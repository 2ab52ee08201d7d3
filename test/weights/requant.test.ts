import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/runtime/backend.js';
import { requantRound } from '../../src/weights/tflite-import.js';
import { mulByQuantizedMultiplier, quantizeMultiplier } from '../../src/weights/tflite-reference.js';
import { Rng } from '../../src/util/random.js';

describe('requantRound (TFLite double rounding in float32)', () => {
  it('rounds twice like SaturatingRoundingDoublingHighMul + RoundingDivideByPOT, half away from zero', async () => {
    await selectBackend('cpu', () => {});
    // acc 299 x multiplier 0.0885027 (right shift 3) is 26.462: the integer kernel gives 27 (26.462 -> 26.5 -> 27).
    const M = 0.08850273134573498;
    const { m, shift } = quantizeMultiplier(M);
    assert.equal(shift, -3);
    assert.equal(mulByQuantizedMultiplier(299, m, shift), 27);
    assert.deepEqual(Array.from(requantRound(tf.tensor1d([299 * M]), 3).dataSync()), [27]);
    assert.deepEqual(Array.from(tf.round(tf.tensor1d([299 * M])).dataSync()), [26], 'single rounding differs');
    assert.deepEqual(Array.from(requantRound(tf.tensor1d([2.5, -2.5, 0.49, -0.49]), 0).dataSync(), (v) => v + 0), [3, -3, 0, 0]);
  });

  it('matches the integer reference on random accumulators and multipliers', async () => {
    await selectBackend('cpu', () => {});
    const rng = new Rng(7);
    let checked = 0;
    for (let t = 0; t < 20; t++) {
      const M = 2 ** -(1 + 8 * rng.next()) * (0.5 + 0.5 * rng.next()); // right shifts 1..9
      const { m, shift } = quantizeMultiplier(M);
      const acc = Array.from({ length: 500 }, () => Math.round((rng.next() - 0.5) * 2 * 255 / M));
      const want = acc.map((a) => mulByQuantizedMultiplier(a, m, shift));
      const got = Array.from(requantRound(tf.mul(tf.tensor1d(acc), M), -shift).dataSync(), (v) => v + 0); // -0 -> 0
      assert.deepEqual(got, want, `multiplier ${M}`);
      checked += acc.length;
    }
    assert.equal(checked, 10000);
  });
});
