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

/** Builds one layer (optionally followed by `post`), gives it non-trivial gamma/beta, runs a training step and an inference pass. */
function run(layer: tfl.layers.Layer, post?: tfl.layers.Layer) {
  return tf.tidy(() => {
    const x = tf.tensor4d(x0, [...shape]);
    layer.apply(tfl.input({ shape: shape.slice(1) as number[] })); // builds the weights
    const [, , movingMean, movingVar] = layer.getWeights();
    layer.setWeights([tf.linspace(0.5, 6, 6), tf.linspace(-0.2, 0.3, 6), movingMean!, movingVar!]); // gamma up to 6: relu6 clips at both ends
    const dy = tf.tensor4d(dy0, [...shape]);
    const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const fwd = (xx: tf.Tensor, training: boolean) => {
      const y = layer.apply(xx, { training }) as tf.Tensor;
      return post ? (post.apply(y, { training }) as tf.Tensor) : y;
    };
    const f = (xx: tf.Tensor) => tf.sum(tf.mul(fwd(xx, true), dy)) as tf.Scalar;
    const { grads } = tf.variableGrads(() => f(x), vars);
    const dx = tf.grad(f)(x);
    const y = fwd(x, true); // second training call: moving averages move twice
    const inf = fwd(x, false);
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

async function compare(backend: string, activation?: 'relu' | 'relu6') {
  await tf.setBackend(backend);
  const post = activation ? tfl.layers.reLU({ maxValue: activation === 'relu6' ? 6 : undefined }) : undefined;
  const ref = run(tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name: 'bn' }), post);
  const got = run(new BatchNorm({ momentum: 0.9, epsilon: 1e-5, name: 'bn', activation }));
  if (activation) {
    // the activation clips some outputs at 0 (and at 6), so the gradient masks are exercised
    assert.ok(ref.y.some((v) => v === 0), `${activation}: some outputs clipped at 0`);
    if (activation === 'relu6') assert.ok(ref.y.some((v) => v === 6), 'relu6: some outputs clipped at 6');
  }
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

for (const activation of ['relu', 'relu6'] as const) {
  test(`BatchNorm({ activation: '${activation}' }) equals BatchNormalization + ${activation} on cpu`, async () => {
    await compare('cpu', activation);
  });
  test(`BatchNorm({ activation: '${activation}' }) on torch uses the fused batch norm + activation kernel and equals BatchNormalization + ${activation}`, { skip: torch.loadError ? `torch addon not built: ${torch.loadError.message}` : false }, async () => {
    await tf.setBackend('torch');
    assert.ok(tf.getKernel('TorchBatchNormActTraining', 'torch'), 'the fused kernel is registered');
    await compare('torch', activation);
  });
}

test('BatchNorm refuses an unknown activation by name', () => {
  assert.throws(() => new BatchNorm({ name: 'bn', activation: 'gelu' as never }), /activation must be 'relu' or 'relu6', got 'gelu'/);
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
  const withAct = tfl.model({ inputs: input, outputs: new BatchNorm({ name: 'bn6', activation: 'relu6' }).apply(input) as tfl.SymbolicTensor });
  const again = await tfl.models.modelFromJSON(JSON.parse(JSON.stringify(withAct.toJSON(null, false))) as never);
  assert.equal((again.layers[1] as BatchNorm).activation, 'relu6', 'the activation survives serialisation');
});
