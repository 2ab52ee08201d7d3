import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/runtime/backend.js';
import { requantExact } from '../../src/weights/fake-quant.js';
import { mulByQuantizedMultiplier, quantizeMultiplier } from '../../src/weights/tflite-reference.js';
import { Rng } from '../../src/util/random.js';

const run = (acc: number[], m: number, shift: number) => Array.from(requantExact(tf.tensor1d(acc), m, shift).dataSync(), (v) => v + 0); // -0 -> 0

describe('requantExact (TFLite requantization in float32 tensor ops)', () => {
  it('rounds twice like the integer kernel, not once', async () => {
    await selectBackend('cpu', () => {});
    // acc 299 x multiplier 0.0885027 (right shift 3) is 26.462: the integer kernel gives 27 (26.462 -> 26.5 -> 27).
    const { m, shift } = quantizeMultiplier(0.08850273134573498);
    assert.equal(shift, -3);
    assert.equal(mulByQuantizedMultiplier(299, m, shift), 27);
    assert.deepEqual(run([299, -299, 0], m, shift), [27, -27, 0]);
    assert.equal(Math.round(299 * 0.08850273134573498), 26, 'single rounding differs');
  });

  it('equals the integer reference bit for bit on random accumulators, multipliers and shifts', async () => {
    await selectBackend('cpu', () => {});
    const rng = new Rng(7);
    let checked = 0;
    for (let t = 0; t < 40; t++) {
      // Multipliers from 2^-12 to 4 (right shifts 0..12 and left shifts 1..2), accumulators up to 2^23 in magnitude.
      const M = 2 ** (2 - 14 * rng.next()) * (0.5 + 0.5 * rng.next());
      const { m, shift } = quantizeMultiplier(M);
      const big = 2 ** (8 + Math.floor(15 * rng.next()));
      const acc = Array.from({ length: 500 }, () => Math.round((rng.next() - 0.5) * 2 * Math.min(big, 2 ** 23 / 2 ** Math.max(0, shift))));
      const want = acc.map((a) => mulByQuantizedMultiplier(a, m, shift));
      assert.deepEqual(run(acc, m, shift), want, `multiplier ${M} (m ${m}, shift ${shift})`);
      checked += acc.length;
    }
    assert.equal(checked, 20000);
  });
});
