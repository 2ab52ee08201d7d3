import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { exportMetadata } from '../../src/export/metadata.js';
import { toOnnx } from '../../src/export/onnx.js';
import { BatchNorm } from '../../src/models/layers/batch-norm.js';
import { SeededDropout } from '../../src/models/layers/seeded-dropout.js';
import type { ExportMetadata } from '../../src/export/metadata.js';

/** Every layer kind the ONNX writer translates, on an odd input size (TF's asymmetric SAME padding at stride 2). */
function zoo(size: number, classes: number): tfl.LayersModel {
  const x = tfl.input({ shape: [size, size, 3], name: 'image' });
  let y = tfl.layers.rescaling({ scale: 2, offset: -1, name: 'rescale' }).apply(x) as tfl.SymbolicTensor;
  y = tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6', name: 'c1' }).apply(y) as tfl.SymbolicTensor;
  y = new BatchNorm({ epsilon: 1e-3, name: 'bn1' }).apply(y) as tfl.SymbolicTensor;
  const a = tfl.layers.depthwiseConv2d({ kernelSize: 5, strides: 2, depthMultiplier: 2, padding: 'same', name: 'dw' }).apply(y) as tfl.SymbolicTensor;
  const b = tfl.layers.conv2d({ filters: 12, kernelSize: [1, 3], strides: 2, padding: 'same', useBias: false, name: 'c2' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.add({ name: 'add' }).apply([a, b]) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({ name: 'bn2' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.reLU({ maxValue: 4, name: 'relu4' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.conv2d({ filters: 8, kernelSize: 2, padding: 'valid', activation: 'sigmoid', name: 'c3' }).apply(y) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten({ name: 'flat' }).apply(y) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(y) as tfl.SymbolicTensor;
  let h = tfl.layers.dense({ units: 8, activation: 'tanh', name: 'd0' }).apply(flat) as tfl.SymbolicTensor;
  h = tfl.layers.activation({ activation: 'relu', name: 'act' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.add({ name: 'add2' }).apply([h, pooled]) as tfl.SymbolicTensor;
  h = new SeededDropout({ rate: 0.5, name: 'drop' }).apply(h) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: classes, name: 'head' }).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: out });
}

test('ONNX export: every translated layer kind matches tfjs (odd sizes, strides, depth multiplier, flatten order)', async () => {
  await tf.setBackend('cpu');
  const size = 15;
  const c = 5;
  const model = zoo(size, c);
  // Non-trivial batch-norm statistics and weights everywhere.
  model.weights.forEach((w, i) => w.write(tf.add(tf.randomUniform(w.shape as number[], -0.5, 0.5, 'float32', 100 + i), w.name.includes('variance') ? 1 : 0)));
  const meta = { ...exportMetadata('onnx', { model: 'zoo', classes: ['a', 'b', 'c', 'd', 'e'], inputSize: size }, import.meta.filename), checkpoint: 'none' } as ExportMetadata;
  const bytes = toOnnx(model, meta);
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual(session.inputNames, ['image']);
  assert.deepEqual(session.outputNames, ['logits', 'probs']);
  const n = 4;
  const x = new Float32Array(n * size * size * 3).map((_, i) => ((i * 7919) % 1000) / 1000);
  const ref = (model.predict(tf.tensor4d(x, [n, size, size, 3])) as tf.Tensor).dataSync();
  const out = await session.run({ image: new ort.Tensor('float32', x, [n, size, size, 3]) });
  const logits = out.logits!.data as Float32Array;
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]! - logits[i]!));
  assert.ok(m < 1e-4, `max abs logit difference ${m}`);
  const probs = out.probs!.data as Float32Array;
  for (let r = 0; r < n; r++) assert.ok(Math.abs(probs.subarray(r * c, (r + 1) * c).reduce((s, v) => s + v, 0) - 1) < 1e-5);
  model.dispose();
});
