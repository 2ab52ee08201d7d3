// The transformers' LayerNorm and GELU: tfjs's compositions on cpu and the fused TorchLayerNorm / TorchGelu kernels
// (with their own gradients) on torch compute the same outputs and gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers'; // registers tfjs's gradients (Sum, Mul, ...)
import * as torch from '@plumage/tfjs-backend-torch';
import { gelu, layerNorm } from '../../src/models/vit-layers/ops.js';
import { relativeL2 } from '../helpers/compare.js';
import { rand } from '../helpers/random-values.js';

async function run(backend: string): Promise<{ y: Float32Array; dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array; numKernels: number }> {
  await tf.setBackend(backend);
  const shape = [2, 7, 24];
  const x = tf.add(tf.mul(tf.tensor(rand(2 * 7 * 24, 1), shape), 3), 0.5);
  const gamma = tf.tensor(rand(24, 2));
  const beta = tf.tensor(rand(24, 3));
  const upstream = tf.tensor(rand(2 * 7 * 24, 4), shape); // a non-uniform dy
  const loss = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layerNorm(a, g, b, 1e-5), upstream));
  const before = tf.memory().numTensors;
  const [dx, dgamma, dbeta] = tf.grads(loss)([x, gamma, beta]);
  const y = tf.tidy(() => layerNorm(x, gamma, beta, 1e-5));
  const out = { y: y.dataSync() as Float32Array, dx: dx!.dataSync() as Float32Array, dgamma: dgamma!.dataSync() as Float32Array, dbeta: dbeta!.dataSync() as Float32Array };
  tf.dispose([y, dx!, dgamma!, dbeta!]);
  assert.equal(tf.memory().numTensors, before, `${backend}: no tensor leak`);
  tf.dispose([x, gamma, beta, upstream]);
  return { ...out, numKernels: tf.getKernel('TorchLayerNorm', backend) ? 1 : 0 };
}


test('LayerNorm on torch (fused TorchLayerNorm kernel and gradient) equals the composition on cpu', { skip: torch.loadError ? `torch addon not built: ${torch.loadError.message}` : false }, async () => {
  const ref = await run('cpu');
  const got = await run('torch');
  assert.equal(ref.numKernels, 0);
  assert.equal(got.numKernels, 1, 'the fused kernel is registered on torch');
  for (const k of ['y', 'dx', 'dgamma', 'dbeta'] as const) assert.ok(relativeL2(got[k], ref[k]) < 1e-5, `${k}: relative L2 ${relativeL2(got[k], ref[k])}`);
  await tf.setBackend('cpu');
});

async function geluRun(backend: string): Promise<{ y: Float32Array; dx: Float32Array }> {
  await tf.setBackend(backend);
  const x = tf.mul(tf.tensor(rand(3 * 40, 5), [3, 40]), 4); // spans the curved part and both tails
  const upstream = tf.tensor(rand(3 * 40, 6), [3, 40]);
  const before = tf.memory().numTensors;
  const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(gelu(a), upstream)))(x);
  const y = tf.tidy(() => gelu(x));
  const out = { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  tf.dispose([y, dx]);
  assert.equal(tf.memory().numTensors, before, `${backend}: no tensor leak`);
  tf.dispose([x, upstream]);
  return out;
}

test('GELU on torch (fused TorchGelu kernel and gradient) equals the erf composition on cpu', { skip: torch.loadError ? `torch addon not built: ${torch.loadError.message}` : false }, async () => {
  const ref = await geluRun('cpu');
  const got = await geluRun('torch');
  assert.ok(tf.getKernel('TorchGelu', 'torch'));
  for (const k of ['y', 'dx'] as const) assert.ok(relativeL2(got[k], ref[k]) < 1e-5, `${k}: relative L2 ${relativeL2(got[k], ref[k])}`);
  await tf.setBackend('cpu');
});
