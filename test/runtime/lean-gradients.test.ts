// The memory-lean backward pass (src/runtime/lean-gradients.ts) against tfjs's own: the same gradients bit for bit,
// no leaked tensors, the same errors, and gradients of intermediate tensors released while the pass runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { setLeanGradients } from '../../src/runtime/lean-gradients.js';
import { gelu, layerNorm, linear, mm } from '../../src/models/vit-layers/ops.js';
import { rand } from '../helpers/random-values.js';

await tf.setBackend('cpu');

/** Runs `f` with tfjs's and with the lean gradients(); returns both results as arrays (and checks for leaks). */
function both(f: () => tf.Tensor[]): [number[][], number[][]] {
  const out: number[][][] = [];
  for (const lean of [false, true]) {
    setLeanGradients(lean);
    const before = tf.memory().numTensors;
    const ts = f();
    out.push(ts.map((t) => Array.from(t.dataSync())));
    tf.dispose(ts);
    assert.equal(tf.memory().numTensors, before, `${lean ? 'lean' : 'tfjs'}: no tensor leak`);
  }
  setLeanGradients(true);
  return [out[0]!, out[1]!];
}

test('a conv net with batch norm, dense layers and the transformer ops: identical variable gradients', () => {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.batchNormalization(),
      tfl.layers.activation({ activation: 'relu6' }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthwiseInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 12, kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  const x = tf.tensor4d(rand(4 * 8 * 8 * 3, 5), [4, 8, 8, 3]);
  const k = tf.variable(tf.tensor2d(rand(12 * 12, 6), [12, 12]));
  const g = tf.variable(tf.tensor1d(rand(12, 7)));
  const b = tf.variable(tf.tensor1d(rand(12, 8)));
  const vars = [...model.trainableWeights.map((w) => (w as unknown as { read(): tf.Variable }).read()), k, g, b];
  const [stock, lean] = both(() => {
    const { value, grads } = tf.variableGrads(() => {
      const h = model.apply(x, { training: true }) as tf.Tensor;
      const t = gelu(layerNorm(linear(h, k, b), g, b, 1e-5));
      return tf.mean(tf.square(tf.add(mm(t, k, false, true), h)));
    }, vars);
    return [value, ...vars.map((v) => grads[v.name]!)];
  });
  assert.deepEqual(lean, stock);
  tf.dispose([x, k, g, b]);
  model.dispose();
});

test('edge cases: a tensor used twice, an identity gradient that returns dy itself, several outputs, a given dy', () => {
  const identity = tf.customGrad(((a: tf.Tensor) => ({ value: tf.mul(a, 1), gradFunc: (dy: tf.Tensor) => dy })) as unknown as Parameters<typeof tf.customGrad>[0]);
  const x = tf.tensor2d(rand(6 * 4, 9), [6, 4]);
  const w = tf.tensor2d(rand(6 * 4, 10), [6, 4]);
  const dy = tf.tensor2d(rand(3 * 4, 11), [3, 4]);
  const [stock, lean] = both(() => {
    const f = (a: tf.Tensor, c: tf.Tensor) => {
      const s = identity(tf.add(a, a)) as tf.Tensor; // x feeds both inputs of one op; dy passes through unchanged
      const [p, q] = tf.split(tf.mul(s, c), 2, 0); // an op with two outputs
      return tf.add(tf.mul(p!, q!), tf.sin(p!)); // p used twice
    };
    const [gx, gw] = tf.grads(f)([x, w], dy);
    const [hx] = tf.grads((a: tf.Tensor) => identity(a) as tf.Tensor)([x]); // y's gradient is the seed itself
    return [gx!, gw!, hx!];
  });
  assert.deepEqual(lean, stock);
  assert.equal(dy.isDisposed, false, 'a dy passed by the caller is not disposed');
  tf.dispose([x, w, dy]);
});

test('errors are the same: no path from x to y', () => {
  const x = tf.scalar(2);
  const z = tf.scalar(3);
  for (const lean of [false, true]) {
    setLeanGradients(lean);
    assert.throws(() => tf.grad(() => tf.mul(z, 2))(x), /Cannot compute gradient of y=f\(x\) with respect to x/);
  }
  setLeanGradients(true);
  tf.dispose([x, z]);
});

test('higher-order gradients (a gradient of a gradient) still work', () => {
  const x = tf.tensor1d([0.5, -1.5, 2]);
  const [stock, lean] = both(() => [tf.grad((a: tf.Tensor) => tf.grad((b: tf.Tensor) => tf.sum(tf.pow(b, 3)))(a))(x)]);
  assert.deepEqual(lean, stock);
  assert.deepEqual(lean[0]!.map((v) => Math.round(v * 1e4) / 1e4), [3, -9, 12]); // d2/dx2 of x^3 = 6x
  x.dispose();
});

test('the gradients of intermediate tensors are released during the backward pass', () => {
  // A probe at the start of a 30-op chain records the bytes held when its gradient runs, i.e. after the gradients of
  // every later op were computed: tfjs still holds one per op, the lean pass only the few in flight.
  let bytesAtProbe = 0;
  const probe = tf.customGrad(((a: tf.Tensor) => ({
    value: tf.mul(a, 1),
    gradFunc: (dy: tf.Tensor) => {
      bytesAtProbe = tf.memory().numBytes;
      return tf.mul(dy, 1);
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  const x = tf.tensor1d(rand(100_000, 12));
  const held: Record<string, number> = {};
  for (const lean of [false, true]) {
    setLeanGradients(lean);
    const base = tf.memory().numBytes;
    const g = tf.grad((a: tf.Tensor) => {
      let h = probe(a) as tf.Tensor;
      for (let i = 0; i < 30; i++) h = tf.sin(tf.add(h, 0.1));
      return tf.sum(h);
    })(x);
    held[lean ? 'lean' : 'tfjs'] = (bytesAtProbe - base) / (x.size * 4);
    g.dispose();
  }
  setLeanGradients(true);
  // tfjs: each sin keeps its saved input and its gradient, each add its gradient (about 90 tensors of x's size).
  assert.ok(held.tfjs! > 60, `tfjs holds ${held.tfjs} tensors of x's size at the probe`);
  assert.ok(held.lean! < 6, `the lean pass holds ${held.lean} tensors of x's size at the probe`);
  x.dispose();
});
