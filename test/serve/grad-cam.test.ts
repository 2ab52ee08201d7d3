import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { getArchitecture } from '../../src/models/index.js';
import { GradCamUnsupported, gradCam, supportsGradCam } from '../../src/serve/grad-cam.js';

test('Grad-CAM of resnet-mini equals CAM from the head weights (GAP + dense: dlogit/dA_k = w_k / HW)', async () => {
  await tf.setBackend('cpu');
  const model = await getArchitecture('resnet-tiny').build({ numClasses: 5, inputSize: 32 });
  const x = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const pool = model.getLayer('pool');
  const feats = tfl.model({ inputs: model.inputs, outputs: pool.input as tfl.SymbolicTensor }).predict(x) as tf.Tensor4D;
  // Every class: with an unseeded init some classes get an all-negative weighted sum, whose CAM is all zero after the
  // ReLU (the heat is then 0 everywhere, not 0/0).
  for (let cls = 0; cls < 5; cls++) {
    const r = gradCam(model, x, 'resnet-tiny', cls);
    assert.equal(r.classIndex, cls);
    const w = tf.reshape(tf.slice(model.getLayer('head').getWeights()[0] as tf.Tensor2D, [0, cls], [-1, 1]), [-1]);
    const cam = tf.squeeze(tf.relu(tf.sum(tf.mul(feats, w), 3)), [0]);
    const expected = tf.div(cam, tf.maximum(tf.max(cam), 1e-12)).dataSync();
    assert.deepEqual([r.height, r.width], feats.shape.slice(1, 3));
    assert.equal(r.layer, (pool.input as tfl.SymbolicTensor).sourceLayer.name);
    for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(expected[i]! - r.heat[i]!) < 1e-4, `class ${cls} cell ${i}: ${r.heat[i]} vs ${expected[i]}`);
  }
  // Without a class, the top class is explained.
  const top = tf.argMax(model.predict(x) as tf.Tensor, 1).dataSync()[0];
  assert.equal(gradCam(model, x, 'resnet-tiny').classIndex, top);
});

test('Grad-CAM refuses a transformer by name', async () => {
  await tf.setBackend('cpu');
  const model = await getArchitecture('beit-small-p8').build({ numClasses: 5, inputSize: 64 });
  assert.equal(supportsGradCam(model, 'beit-small-p8'), false);
  assert.throws(() => gradCam(model, tf.zeros([1, 64, 64, 3]) as tf.Tensor4D, 'beit-small-p8'), (e: unknown) => e instanceof GradCamUnsupported && /model beit-small-p8 has no convolutional feature map/.test((e as Error).message));
});
