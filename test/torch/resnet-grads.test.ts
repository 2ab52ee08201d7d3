// Whole-model gradient parity of resnet-mini between the 'torch' and 'cpu' backends, plus training-loop memory checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as torch from '@plumage/tfjs-backend-torch';
import { buildResNet, resnetConfigs } from '../../src/models/resnet.js';

const skip = torch.loadError ? `torch addon not built: ${torch.loadError.message}` : false;
// Dropout is random per backend, so parity uses rate 0; everything else is resnet-mini as configured.
const cfg = { ...resnetConfigs['resnet-mini'], dropout: 0, seed: 5 };

function lossFn(model: tfl.LayersModel, x: tf.Tensor, labels: tf.Tensor): () => tf.Scalar {
  return () => {
    const logits = model.apply(x, { training: true }) as tf.Tensor;
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  };
}

async function gradsOn(backend: string, model: tfl.LayersModel, xData: Float32Array, labels: number[]) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(xData, [labels.length, cfg.inputSize, cfg.inputSize, 3]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), cfg.numClasses);
    const { value, grads } = tf.variableGrads(lossFn(model, x, y));
    const out: Record<string, Float32Array> = {};
    for (const [k, g] of Object.entries(grads)) out[k] = g.dataSync() as Float32Array;
    return { loss: value.dataSync()[0]!, grads: out };
  });
}

test('resnet-mini: loss and every weight gradient match the cpu backend', { skip, timeout: 600_000 }, async () => {
  await tf.setBackend('cpu');
  const model = buildResNet(cfg);
  const n = 2;
  const xData = new Float32Array(n * cfg.inputSize * cfg.inputSize * 3);
  for (let i = 0; i < xData.length; i++) xData[i] = ((i * 2654435761) % 1000) / 1000;
  const labels = [3, 24];
  const cpu = await gradsOn('cpu', model, xData, labels);
  const tor = await gradsOn('torch', model, xData, labels);
  assert.ok(Math.abs(cpu.loss - tor.loss) < 1e-4 * Math.max(1, Math.abs(cpu.loss)), `loss cpu ${cpu.loss} torch ${tor.loss}`);
  const names = Object.keys(cpu.grads);
  assert.ok(names.length >= 40, `only ${names.length} gradients`);
  assert.deepEqual(Object.keys(tor.grads).sort(), names.sort());
  let worst = 0;
  const l2 = (v: Float32Array) => Math.sqrt(v.reduce((acc, x) => acc + x * x, 0));
  const largest = Math.max(...names.map((k) => l2(cpu.grads[k]!)));
  for (const k of names) {
    const a = cpu.grads[k]!;
    const b = tor.grads[k]!;
    assert.equal(a.length, b.length, k);
    let norm = 0;
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
      norm += a[i]! ** 2;
      diff += (a[i]! - b[i]!) ** 2;
    }
    // Relative L2 error per tensor, against the tensor's own norm or 1e-3 of the model's largest gradient norm (a BN
    // beta followed by ReLU -> conv -> BN gets an almost-zero gradient: the next norm removes a per-channel shift).
    // The bound is float32 rounding. It used to be 10%: with unseeded inits one BN gamma/beta differed by 1-3% in about
    // one of three runs. That was the torch side (libtorch 1.13's channels-last batch-norm kernels, less accurate; since
    // 0ce6814 they get contiguous input). The init is seeded so a failure reproduces. Both backends are checked
    // against float64 over many inits in resnet-f64-parity.test.ts.
    const rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-3 * largest, 1e-8);
    worst = Math.max(worst, rel);
    assert.ok(rel <= 1e-3, `${k}: |cpu - torch| / |cpu| = ${rel} (L2 over ${a.length} values)`);
  }
  console.log(`# worst relative L2 gradient error ${worst.toExponential(2)}`);
  model.dispose();
});

test('resnet-mini trains on torch with model.fit-style steps; tensors and native handles stay flat', { skip, timeout: 600_000 }, async () => {
  await tf.setBackend('torch');
  const model = buildResNet(resnetConfigs['resnet-mini']);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
  const n = 8;
  const x = tf.randomUniform([n, 64, 64, 3]);
  const y = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'float32');
  const losses: number[] = [];
  const counts: [number, number, number][] = [];
  for (let i = 0; i < 6; i++) {
    losses.push((await model.trainOnBatch(x, y)) as number);
    const mem = tf.memory() as tf.MemoryInfo & { liveHandles?: number };
    const backend = tf.backend() as unknown as { numDataIds(): number };
    counts.push([mem.numTensors, backend.numDataIds(), torch.native!.liveHandles()]);
  }
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  assert.ok(losses[losses.length - 1]! < losses[0]!, `loss did not decrease: ${losses}`);
  // After the first step (optimizer slots created) nothing accumulates.
  assert.deepEqual(counts[counts.length - 1], counts[1], `tensors/dataIds/handles grew: ${JSON.stringify(counts)}`);
  x.dispose();
  y.dispose();
  model.dispose();
});

test('backend basics: read/write/move, refcounted disposal, threads', { skip }, async () => {
  await tf.setBackend('torch');
  const before = torch.native!.liveHandles();
  const a = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const b = tf.reshape(a, [4]);
  const c = tf.clone(a); // shares a's data (Identity)
  assert.deepEqual(Array.from(await b.data()), [1, 2, 3, 4]);
  a.dispose();
  assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3, 4], 'clone survives disposal of its source');
  const one = tf.scalar(1);
  const s = tf.add(c, one);
  assert.deepEqual(Array.from(s.dataSync()), [2, 3, 4, 5]);
  tf.dispose([b, c, s, one]);
  assert.equal(torch.native!.liveHandles(), before, 'native handles released');
  // Data moves between backends.
  await tf.setBackend('cpu');
  const onCpu = tf.tensor1d([5, 6, 7]);
  await tf.setBackend('torch');
  assert.deepEqual(Array.from(tf.mul(onCpu, 2).dataSync()), [10, 12, 14]);
  assert.ok(torch.getNumThreads() >= 1);
  assert.equal(tf.cast(tf.tensor1d([1.5, -2.5], 'float32'), 'int32').dataSync()[1], -2);
  assert.equal(tf.argMax(tf.tensor1d([1, 9, 3])).dtype, 'int32');
});
