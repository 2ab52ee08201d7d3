import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdamW } from '../../src/train/adamw.js';

test('AdamW applies Adam moments plus decoupled weight decay to kernels only', async () => {
  await tf.setBackend('cpu');
  const w = tf.variable(tf.tensor2d([[1, -2]]));
  const b = tf.variable(tf.tensor1d([0.5]));
  const opt = new AdamW([w, b], { lr: 0.1, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const g = [tf.tensor2d([[0.2, -0.4]]), tf.tensor1d([1])];
  opt.apply(g);
  // step 1: m_hat = g, v_hat = g^2 -> update = sign(g) (up to eps); w -= lr*update + lr*wd*w
  const wv = await w.data();
  assert.ok(Math.abs(wv[0]! - (1 - 0.1 - 0.1 * 0.01 * 1)) < 1e-6);
  assert.ok(Math.abs(wv[1]! - (-2 + 0.1 - 0.1 * 0.01 * -2)) < 1e-6);
  assert.ok(Math.abs((await b.data())[0]! - 0.4) < 1e-6, 'no decay on rank-1 variables');
  opt.apply(g);
  assert.equal(opt.step, 2);
  const before = tf.memory().numTensors;
  opt.apply(g);
  assert.equal(tf.memory().numTensors, before, 'no tensor leak per step');
  opt.dispose();
});
