// plumage's BatchNorm layer: same results as tfjs-layers' BatchNormalization (outputs, moving averages, gradients),
// on the cpu backend (composed path) and on torch (fused kernel), and it serialises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as torch from '@plumage/tfjs-backend-torch';
import { BatchNorm } from '../../src/models/layers/batch-norm.js';
import { rand } from '../helpers/random-values.js';

const shape = [3, 5, 4, 6] as const;
const x0 = rand(shape.reduce((a, b) => a * b, 1), 7).map((v, i) => 3 * v + (i % 6)); // per-channel offsets
const dy0 = rand(x0.length, 8);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Builds one layer, gives it non-trivial gamma/beta, runs a training step and an inference pass. */
function run(layer: tfl.layers.Layer) {
  return tf.tidy(() => {
    const x = tf.tensor4d(x0, [...shape]);
    layer.apply(tfl.input({ shape: shape.slice(1) as number[] })); // builds the weights
    const [, , movingMean, movingVar] = layer.getWeights();
    layer.setWeights([tf.linspace(0.5, 1.5, 6), tf.linspace(-0.2, 0.3, 6), movingMean!, movingVar!]);
    const dy = tf.tensor4d(dy0, [...shape]);
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const f = (xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx, { training: true }) as tf.Tensor, dy)) as tf.Scalar;
    const { grads } = tf.variableGrads(() => f(x), vars);
    const dx = tf.grad(f)(x);
    const y = layer.apply(x, { training: true }) as tf.Tensor; // second training call: moving averages move twice
    const inf = layer.apply(x, { training: false }) as tf.Tensor;
    const w = layer.getWeights();
    return {
      y: y.dataSync(),
      inf: inf.dataSync(),
      dx: dx.dataSync(),
      dgamma: grads[vars[0]!.name]!.dataSync(),
      dbeta: grads[vars[1]!.name]!.dataSync(),
      movingMean: w[2]!.dataSync(),
      movingVar: w[3]!.dataSync(),
      names: layer.weights.map((v) => v.originalName),
    };
  });
}

async function compare(backend: string) {
  await tf.setBackend(backend);
  const ref = run(tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: 'bn' }));
  const got = run(new BatchNorm({ momentum: 0.9, epsilon: 1e-5, name: 'bn' }));
  assert.deepEqual(got.names, ref.names, 'weight names match tfjs-layers (checkpoints stay compatible)');
  for (const k of ['y', 'inf', 'dx', 'dgamma', 'dbeta', 'movingMean', 'movingVar'] as const) {
    const d = maxDiff(got[k], ref[k]);
    assert.ok(d < 2e-4, `${backend} ${k}: max diff ${d}`);
  }
  assert.ok(maxDiff(ref.movingMean, new Float32Array(6)) > 0.1, 'the moving mean moved');
}

test('BatchNorm matches tfjs-layers BatchNormalization on cpu (composed path)', async () => {
  await compare('cpu');
});

test('BatchNorm on torch uses the fused kernel and matches tfjs-layers BatchNormalization', { skip: torch.loadError ? `torch addon not built: ${torch.loadError.message}` : false }, async () => {
  await tf.setBackend('torch');
  assert.ok(tf.getKernel('TorchBatchNormTraining', 'torch'), 'the fused kernel is registered');
  await compare('torch');
});

test('BatchNorm serialises: toJSON + fromConfig keeps momentum and epsilon', async () => {
  await tf.setBackend('cpu');
  const input = tfl.input({ shape: [4, 4, 3] });
  const model = tfl.model({ inputs: input, outputs: new BatchNorm({ momentum: 0.8, epsilon: 1e-4, name: 'bn' }).apply(input) as tfl.SymbolicTensor });
  const cfg = JSON.parse(JSON.stringify(model.toJSON(null, false))) as { config: { layers: { class_name: string; config: { momentum: number; epsilon: number } }[] } };
  const bn = cfg.config.layers.find((l) => l.class_name === 'PlumageBatchNorm');
  assert.ok(bn);
  assert.equal(bn.config.momentum, 0.8);
  assert.equal(bn.config.epsilon, 1e-4);
  const rebuilt = await tfl.models.modelFromJSON(cfg as never);
  assert.equal(rebuilt.layers[1]!.getClassName(), 'PlumageBatchNorm');
});
