import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as torch from '@plumage/tfjs-backend-torch';
import { relativeL2 } from '../helpers/compare.js';
import { rand } from '../helpers/random-values.js';
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

/** Five AdamW steps on fixed weights and gradients (lr multipliers, a decay mask, a changing lr): the final weights. */
async function fiveSteps(backend: string): Promise<{ weights: Float32Array[]; usedKernel: boolean }> {
  await tf.setBackend(backend);
  const shapes = [[64, 48], [48], [3, 3, 8, 16]];
  const vars = shapes.map((sh, i) => tf.variable(tf.tensor(rand(sh.reduce((a, b) => a * b, 1), 10 + i), sh)));
  const opt = new AdamW(vars, { lr: 0.01, weightDecay: 0.05, beta1: 0.9, beta2: 0.99, epsilon: 1e-6 }, [1, 0.5, 2]);
  const before = tf.memory().numTensors;
  for (let step = 0; step < 5; step++) {
    const grads = shapes.map((sh, i) => tf.tensor(rand(sh.reduce((a, b) => a * b, 1), 100 + 10 * step + i), sh));
    opt.lr = 0.01 * (1 - step / 10);
    opt.apply(grads);
    tf.dispose(grads);
  }
  assert.equal(tf.memory().numTensors, before, `${backend}: no tensor leak`);
  const weights = vars.map((v) => v.dataSync() as Float32Array);
  opt.dispose();
  vars.forEach((v) => v.dispose());
  return { weights, usedKernel: !!tf.getKernel('TorchAdamWUpdate', backend) };
}

test('AdamW on torch (one TorchAdamWUpdate kernel per variable) equals the composed update on cpu', { skip: torch.loadError ? `torch addon not built: ${torch.loadError.message}` : false }, async () => {
  const ref = await fiveSteps('cpu');
  const got = await fiveSteps('torch');
  assert.ok(got.usedKernel && !ref.usedKernel);
  got.weights.forEach((w, i) => {
    let moved = 0;
    const init = rand(w.length, 10 + i);
    w.forEach((x, k) => (moved = Math.max(moved, Math.abs(x - init[k]!))));
    const err = relativeL2(w, ref.weights[i]!);
    assert.ok(err < 1e-6, `variable ${i}: relative L2 ${err}`);
    assert.ok(moved > 1e-3, `variable ${i} was updated`);
  });
  await tf.setBackend('cpu');
});
