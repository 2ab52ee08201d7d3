import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { selectBackend } from '../../src/runtime/backend.js';
import { buildResNet, resnetConfigs } from '../../src/models/resnet.js';
import { rand } from '../helpers/random-values.js';


/** A small MobileNetV2-style model: inverted residual blocks with depthwise convs and relu6. */
/** Seeded initialisers, so the parity check runs on the same weights every time. */
let initSeed = 1;
const init = () => tfl.initializers.glorotUniform({ seed: initSeed++ });

function buildDepthwiseNet(inputSize: number, numClasses: number, dropout: number): tfl.LayersModel {
  const input = tfl.input({ shape: [inputSize, inputSize, 3] });
  let x = tfl.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: init() }).apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.reLU({ maxValue: 6 }).apply(x) as tfl.SymbolicTensor;
  const block = (inp: tfl.SymbolicTensor, expand: number, out: number, stride: number): tfl.SymbolicTensor => {
    const c = inp.shape[3]!;
    let y = tfl.layers.conv2d({ filters: c * expand, kernelSize: 1, useBias: false, kernelInitializer: init() }).apply(inp) as tfl.SymbolicTensor;
    y = tfl.layers.batchNormalization().apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false, depthwiseInitializer: init() }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.batchNormalization().apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.conv2d({ filters: out, kernelSize: 1, useBias: false, kernelInitializer: init() }).apply(y) as tfl.SymbolicTensor;
    y = tfl.layers.batchNormalization().apply(y) as tfl.SymbolicTensor;
    return stride === 1 && c === out ? (tfl.layers.add().apply([inp, y]) as tfl.SymbolicTensor) : y;
  };
  x = block(x, 2, 16, 1);
  x = block(x, 3, 24, 2);
  x = tfl.layers.depthwiseConv2d({ kernelSize: 5, depthMultiplier: 2, padding: 'valid', useBias: true }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as tfl.SymbolicTensor;
  if (dropout > 0) x = tfl.layers.dropout({ rate: dropout }).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: numClasses }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits });
}

interface StepResult {
  loss: number;
  grads: Float32Array[];
}

/** One forward/backward pass of softmax cross-entropy (as the trainer computes it) on the current backend. */
function gradStep(model: tfl.LayersModel, x: Float32Array, xShape: number[], labels: number[], numClasses: number): StepResult {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.tidy(() => {
    const xs = tf.tensor(x, xShape);
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses);
    return tf.variableGrads(() => {
      const logits = model.apply(xs, { training: true }) as tf.Tensor;
      const ce = tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), -1))) as tf.Scalar;
      return tf.add(ce, tf.losses.softmaxCrossEntropy(onehot, logits)) as tf.Scalar;
    }, vars);
  });
  const out = { loss: value.dataSync()[0]!, grads: vars.map((v) => Float32Array.from(grads[v.name]!.dataSync())) };
  value.dispose();
  tf.dispose(grads);
  return out;
}

function relErr(a: Float32Array, b: Float32Array): number {
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < b.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(b[i]!));
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  }
  return maxDiff / Math.max(1e-3, maxAbs);
}

/** Builds the model on wasm, then compares one gradient step on wasm against the same weights on cpu. */
function compareWithCpu(build: () => tfl.LayersModel, inputSize: number, batch: number, numClasses: number, tol: number): void {
  tf.setBackend('wasm');
  const model = build();
  const x = rand(batch * inputSize * inputSize * 3, 42);
  const labels = Array.from({ length: batch }, (_, i) => (i * 7) % numClasses);
  const shape = [batch, inputSize, inputSize, 3];
  const before = tf.memory().numTensors;
  const w = gradStep(model, x, shape, labels, numClasses);
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by a wasm training step');
  tf.setBackend('cpu'); // the weights move with the backend switch
  const c = gradStep(model, x, shape, labels, numClasses);
  tf.setBackend('wasm');
  assert.ok(Number.isFinite(w.loss));
  assert.ok(Math.abs(w.loss - c.loss) < 1e-4 * Math.max(1, Math.abs(c.loss)), `loss wasm ${w.loss} vs cpu ${c.loss}`);
  const names = model.trainableWeights.map((v) => v.name);
  for (let i = 0; i < c.grads.length; i++) {
    const e = relErr(w.grads[i]!, c.grads[i]!);
    assert.ok(e < tol, `grad of ${names[i]}: rel error ${e}`);
  }
  model.dispose();
}

before(async () => {
  await selectBackend('wasm');
});

describe('training steps on the wasm backend', () => {
  // resnet-mini's architecture (buildResNet) at reduced widths/input so the cpu reference stays quick.
  const narrow = { widths: [8, 16, 24, 32], stemWidth: 8, inputSize: 16 };
  test('resnet-mini architecture: gradients of one step match the cpu backend', () => {
    const cfg = { ...resnetConfigs['resnet-mini'], ...narrow, dropout: 0 };
    compareWithCpu(() => buildResNet(cfg), cfg.inputSize, 2, cfg.numClasses, 2e-3);
  });

  test('MobileNetV2-style depthwise/relu6 net: gradients of one step match the cpu backend', () => {
    compareWithCpu(() => buildDepthwiseNet(32, 10, 0), 32, 3, 10, 2e-3);
  });

  test('resnet-mini with dropout trains on wasm with an optimizer (loss falls, no tensor growth)', () => {
    tf.setBackend('wasm');
    const cfg = { ...resnetConfigs['resnet-mini'], inputSize: 32, numClasses: 4 };
    const model = buildResNet(cfg);
    const opt = tf.train.adam(1e-3);
    const xs = tf.tensor4d(rand(4 * 32 * 32 * 3, 5), [4, 32, 32, 3]);
    const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 4);
    const losses: number[] = [];
    let tensorsAfterFirst = 0;
    for (let step = 0; step < 8; step++) {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
      if (step === 0) tensorsAfterFirst = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, tensorsAfterFirst, 'tensor count grows across steps');
    assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
    assert.ok(losses[losses.length - 1]! < losses[0]!, `loss did not fall: ${losses.map((l) => l.toFixed(3))}`);
    tf.dispose([xs, ys]);
    opt.dispose();
    model.dispose();
  });
});
