// Batch-norm folding for inference (src/models/fold-batch-norm.ts): the folded model computes what the source model
// computes with training: false, with fewer layers, on resnet (conv -> BN -> ReLU layer), MobileNetV2-style blocks
// (conv / depthwise -> BN with ReLU6 built in) and tfjs's own BatchNormalization; chains it must not fold stay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { foldBatchNorm } from '../../src/models/fold-batch-norm.js';
import { BatchNorm } from '../../src/models/layers/batch-norm.js';
import { buildResNet, resnetConfigs } from '../../src/models/resnet.js';
import { rand } from '../helpers/random-values.js';
import { relativeL2 } from '../helpers/compare.js';

await tf.setBackend('cpu');

/** Gives every batch norm non-trivial statistics and affine parameters (fresh ones are the identity). */
function randomizeNorms(model: tfl.LayersModel): void {
  let seed = 100;
  for (const layer of model.layers) {
    if (!(layer instanceof BatchNorm) && layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(layer.weights.map((w) => {
      const v = rand(w.shape[0]!, seed++);
      const name = w.originalName;
      if (name.endsWith('moving_variance')) return tf.tensor1d(v.map((x) => 0.2 + Math.abs(x)));
      if (name.endsWith('gamma')) return tf.tensor1d(v.map((x) => 0.5 + Math.abs(x)));
      return tf.tensor1d(v.map((x) => x * 0.5));
    }));
  }
}

function compare(model: tfl.LayersModel, size: number): { folded: tfl.LayersModel; err: number } {
  const x = tf.tensor4d(rand(2 * size * size * 3, 7), [2, size, size, 3]);
  const folded = foldBatchNorm(model);
  const want = tf.tidy(() => (model.apply(x, { training: false }) as tf.Tensor).dataSync() as Float32Array);
  const got = tf.tidy(() => (folded.apply(x, { training: false }) as tf.Tensor).dataSync() as Float32Array);
  x.dispose();
  return { folded, err: relativeL2(got, want) };
}

const countClass = (m: tfl.LayersModel, names: string[]) => m.layers.filter((l) => names.includes(l.getClassName())).length;

test('resnet-tiny: every conv + BN (+ ReLU layer) becomes one fused conv with the same outputs', () => {
  const model = buildResNet({ ...resnetConfigs['resnet-tiny'], seed: 3 });
  randomizeNorms(model);
  const { folded, err } = compare(model, 32);
  assert.ok(err < 1e-5, `relative L2 ${err}`);
  const norms = countClass(model, ['PlumageBatchNorm']);
  assert.ok(norms > 5);
  assert.equal(countClass(folded, ['PlumageBatchNorm']), 0, 'no batch norm left');
  assert.equal(countClass(folded, ['PlumageFusedConv']), norms);
  // the stem's and each block's first ReLU layer are absorbed; the ReLU after each residual add stays
  assert.equal(countClass(folded, ['ReLU']), countClass(model, ['ReLU']) - 5);
  assert.equal(model.layers.length - folded.layers.length, norms + 5);
  folded.dispose();
  model.dispose();
});

test('MobileNetV2-style block: conv / depthwise -> BN with ReLU6, and tfjs BatchNormalization + relu6 activation layer', () => {
  const input = tfl.input({ shape: [12, 12, 3] });
  let x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tfl.SymbolicTensor;
  x = new BatchNorm({ epsilon: 1e-5, activation: 'relu6' }).apply(x) as tfl.SymbolicTensor;
  let y = tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'valid', useBias: true, depthwiseInitializer: tfl.initializers.glorotUniform({ seed: 2 }), biasInitializer: tfl.initializers.randomUniform({ minval: -1, maxval: 1, seed: 5 }) }).apply(x) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({ epsilon: 1e-3 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.activation({ activation: 'relu6' }).apply(y) as tfl.SymbolicTensor;
  // a conv whose output also feeds a second layer is not folded
  const shared = tfl.layers.conv2d({ filters: 16, kernelSize: 1, useBias: false, kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }).apply(y) as tfl.SymbolicTensor;
  const z = tfl.layers.add().apply([new BatchNorm({ epsilon: 1e-5 }).apply(shared) as tfl.SymbolicTensor, shared]) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 5, kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }).apply(tfl.layers.globalAveragePooling2d({}).apply(z)) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  randomizeNorms(model);
  const { folded, err } = compare(model, 12);
  assert.ok(err < 1e-5, `relative L2 ${err}`);
  assert.equal(countClass(folded, ['PlumageFusedConv']), 2);
  assert.equal(countClass(folded, ['BatchNormalization', 'Activation']), 0);
  assert.equal(countClass(folded, ['PlumageBatchNorm']), 1, 'the BN after the shared conv stays');
  folded.dispose();
  model.dispose();
});

test('a model without batch norm is returned as it is', () => {
  const model = tfl.sequential({ layers: [tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3 }), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] });
  assert.equal(foldBatchNorm(model), model);
  model.dispose();
});
