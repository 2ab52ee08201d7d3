import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/runtime/backend.js';
import { buildResNet, resnetConfigs } from '../../src/models/resnet.js';
import { trainConfigSchema } from '../../src/train/config.js';
import { fit, checkpointPaths, type ImageSet } from '../../src/train/fit.js';
import { readCheckpoint } from '../../src/train/checkpoint.js';
import { Rng } from '../../src/util/random.js';

const CLASSES = ['a', 'b', 'c'];

/** Synthetic 32px images whose class is a colour tint, so a tiny model can learn something. */
function synthetic(n: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const pixels: Uint8Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 3;
    const img = new Uint8Array(32 * 32 * 3);
    for (let p = 0; p < 32 * 32; p++) for (let c = 0; c < 3; c++) img[p * 3 + c] = Math.min(255, rng.int(120) + (c === label ? 120 : 0));
    pixels.push(img);
    labels.push(label);
  }
  return { pixels, labels, size: 32 };
}

const cfg = (resume: boolean) =>
  trainConfigSchema.parse({ epochs: 3, batchSize: 8, lr: 3e-3, warmupEpochs: 1, resume, augment: { cutmix: 0.5 }, seed: 3, earlyStopPatience: 10 });

async function trainRun(dir: string, interruptAfter?: number, resume = false) {
  const model = buildResNet({ ...resnetConfigs['resnet-tiny'], numClasses: 3, seed: 11 });
  const r = await fit({ model, modelName: 'resnet-tiny', classes: CLASSES, cfg: cfg(resume), inputSize: 32, train: synthetic(24, 1), val: synthetic(12, 2), runDir: dir, quiet: true, interruptAfter });
  model.dispose();
  return r;
}

function lastWeights(dir: string): Float32Array[] {
  const ckpt = readCheckpoint(checkpointPaths(dir).last);
  const out = ckpt.weights.map((w) => w.tensor.dataSync() as Float32Array);
  ckpt.weights.forEach((w) => w.tensor.dispose());
  ckpt.extra.forEach((t) => t.dispose());
  return out;
}

test('an interrupted run resumed with --resume ends with the same weights and metrics as an uninterrupted one', async () => {
  await selectBackend('cpu');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-resume-'));
  const straight = await trainRun(path.join(root, 'straight'));
  const first = await trainRun(path.join(root, 'resumed'), 1);
  assert.equal(first.interrupted, true);
  assert.equal(first.history.length, 1);
  const resumed = await trainRun(path.join(root, 'resumed'), undefined, true);
  assert.equal(resumed.history.length, 3);
  resumed.history.forEach((h, i) => {
    assert.ok(Math.abs(h.trainLoss - straight.history[i]!.trainLoss) < 1e-5, `epoch ${i + 1} loss ${h.trainLoss} vs ${straight.history[i]!.trainLoss}`);
    assert.equal(h.valF1, straight.history[i]!.valF1);
  });
  const a = lastWeights(path.join(root, 'straight'));
  const b = lastWeights(path.join(root, 'resumed'));
  let maxDiff = 0;
  a.forEach((w, i) => w.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - b[i]![j]!)))));
  assert.ok(maxDiff < 1e-5, `max weight difference ${maxDiff}`);
  const metricsLines = fs.readFileSync(path.join(root, 'resumed', 'metrics.jsonl'), 'utf8').trim().split('\n');
  assert.equal(metricsLines.length, 3);
});

test('tensor count stays flat across epochs (no leak)', async () => {
  await selectBackend('cpu');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-leak-'));
  const before = tf.memory().numTensors;
  const r = await trainRun(root);
  const counts = r.history.map((h) => h.numTensors);
  assert.ok(counts.every((c) => c === counts[0]), `numTensors per epoch: ${counts.join(', ')}`);
  assert.equal(tf.memory().numTensors, before, 'fit releases everything it created, the model aside (disposed)');
});
