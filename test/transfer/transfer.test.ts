import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/runtime/backend.js';
import { computeFeatures, parseView, viewKey } from '../../src/transfer/features.js';
import { crossResolutionLoss, runFull } from '../../src/transfer/full.js';
import { loadRun } from '../../src/predict/load-run.js';
import { predictProbs } from '../../src/predict/predict-probs.js';
import { decodeImage } from '../../src/data/decode.js';
import { softVote, trainHead } from '../../src/transfer/head.js';
import { selectPseudoLabels } from '../../src/transfer/pseudo-label.js';
import { loadTransferSplit, runPartial, runProbe } from '../../src/transfer/recipes.js';
import { mapSpecies } from '../../src/transfer/zeroshot.js';
import { parseLabels } from '../../src/weights/labels.js';
import { loadPretrained } from '../../src/weights/index.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const models = path.resolve(root, '..', 'shared', 'models');
const mini = path.resolve(root, '..', 'shared', 'data', 'birds25-mini');
const skipShared = !existsSync(models) || !existsSync(mini) ? `skipped: ${models} or ${mini} is absent` : false;

/** Loads a saved fine-tune as `plumage predict` does; its probabilities on the 64px images must equal `expected`. */
async function assertCheckpointPredicts(checkpoint: string, images: { lr: string }[], size: number, expected: Float32Array): Promise<void> {
  const run = await loadRun(checkpoint, 'last', { offline: true });
  assert.equal(run.meta.inputSize, size);
  assert.deepEqual(run.model.inputs[0]!.shape, [null, size, size, 3]);
  const px = await Promise.all(images.map(async (im) => decodeImage(await fs.readFile(im.lr), size, im.lr)));
  const p = await predictProbs(run.model, px, size, { inputSize: size });
  assert.equal(p.length, expected.length);
  for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i]! - expected[i]!) < 1e-4, `probability ${i}: ${p[i]} vs ${expected[i]}`);
  run.model.dispose();
}

describe('transfer building blocks', () => {
  it('view keys round-trip', () => {
    for (const k of ['lr', 'hr', 'lr.flip', 'hr.crop85c', 'lr.crop90tl.flip']) assert.equal(viewKey(parseView(k)), k);
    assert.throws(() => parseView('mid'), /bad view/);
  });

  it('softmax regression head separates a synthetic 3-class problem; soft vote averages', async () => {
    await selectBackend('wasm', () => {});
    const n = 300;
    const dim = 8;
    const x = new Float32Array(n * dim);
    const y: number[] = [];
    let s = 3;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      y.push(c);
      for (let j = 0; j < dim; j++) x[i * dim + j] = rnd() + (j === c ? 3 : 0) + 100; // offset: standardization matters
    }
    for (const kind of ['linear', 'mlp'] as const) {
      const head = await trainHead(x, y, dim, 3, { kind, epochs: 20, batchSize: 32, learningRate: 0.01, hidden: 16 });
      const p = head.predict(x);
      let ok = 0;
      for (let i = 0; i < n; i++) {
        const row = Array.from(p.subarray(i * 3, i * 3 + 3));
        if (row.indexOf(Math.max(...row)) === y[i]) ok++;
      }
      assert.ok(ok / n > 0.95, `${kind}: train accuracy ${ok / n}`);
      head.dispose();
    }
    assert.deepEqual(Array.from(softVote([new Float32Array([1, 0]), new Float32Array([0, 1])], [3, 1])), [0.75, 0.25]);
  });

  it('pseudo-labels keep the rows whose top probability reaches the threshold, with their argmax', () => {
    const probs = Float32Array.from([0.2, 0.7, 0.1, /**/ 0.5, 0.25, 0.25, /**/ 0.05, 0.05, 0.9]);
    assert.deepEqual(selectPseudoLabels(probs, 3, 0.7), [{ index: 0, label: 1 }, { index: 2, label: 2 }]);
    assert.deepEqual(selectPseudoLabels(probs, 3, 0.95), []);
    assert.equal(selectPseudoLabels(probs, 3, 0).length, 3);
  });

  it('cross-resolution loss: KL(teacher || student) on softened logits, no gradient into the teacher rows', async () => {
    await selectBackend('wasm', () => {});
    // Rows 0-1 students, rows 2-3 their teachers.
    const logits = tf.tensor2d([[2, 0, 0], [0, 1, 0], [0, 0, 3], [0, 1, 0]]);
    const t = 2;
    const kl = (await crossResolutionLoss(logits, t).data())[0]!;
    const soft = (r: number[]) => { const e = r.map((v) => Math.exp(v / t)); const z = e.reduce((a, b) => a + b); return e.map((v) => v / z); };
    const rows = [[2, 0, 0], [0, 1, 0], [0, 0, 3], [0, 1, 0]].map(soft);
    const want = (rows[2]!.reduce((a, p, j) => a + p * Math.log(p / rows[0]![j]!), 0) + 0) / 2; // the second pair is identical: 0
    assert.ok(Math.abs(kl - want) < 1e-5, `${kl} vs ${want}`);
    const g = await tf.grad((x: tf.Tensor) => crossResolutionLoss(x as tf.Tensor2D, t))(logits).array() as number[][];
    assert.ok(g[0]!.some((v) => Math.abs(v) > 1e-3), 'student rows get a gradient');
    assert.deepEqual(g.slice(2).flat().map((v) => Math.abs(v)), [0, 0, 0, 0, 0, 0], 'teacher rows get none');
    // Gradient of KL w.r.t. the student logits is (softmax(student) - teacher) / (T * n).
    g[0]!.forEach((v, j) => assert.ok(Math.abs(v - (rows[0]![j]! - rows[2]![j]!) / (t * 2)) < 1e-5, `d/dlogit ${j}: ${v}`));
    tf.dispose(logits);
  });

  it('maps species by Latin name or common name', () => {
    const labels = parseLabels('Upupa epops (Common Hoopoe)\nFoo bar (Sarus Crane)\nbackground\n', 'inat');
    const m = mapSpecies(['Hoopoe', 'Sarus Crane', 'Jungle Babbler'], labels);
    assert.deepEqual(m.map((x) => [x.species, x.labelIndex]), [['Hoopoe', 0], ['Sarus Crane', 1]]);
  });
});

describe('transfer recipes on birds25-mini', { skip: skipShared }, () => {
  it('probe: embeddings are cached on disk (second run computes nothing) and the head learns', async () => {
    await selectBackend('wasm', () => {});
    const cacheRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'plumage-probe-'));
    const split = loadTransferSplit(mini, { limit: 150, valFraction: 0.2, seed: 1, withTest: false });
    const opts = { backbones: ['mobilenetv2-inat-birds'], inputSize: 96, trainViews: [parseView('lr'), parseView('hr')], evalViews: [parseView('lr'), parseView('lr.flip')], cacheRoot, weights: { offline: true } };
    const a = await runProbe(split, opts);
    assert.equal(a.featuresComputed, split.train.labels.length * 2 + split.val.labels.length * 2);
    assert.ok(a.valMacroF1 > 0.3, `val Macro F1 ${a.valMacroF1} (chance is 0.04)`);
    const b = await runProbe(split, opts);
    assert.equal(b.featuresComputed, 0);
    assert.ok(Math.abs(a.valMacroF1 - b.valMacroF1) < 1e-9);
    a.head.dispose();
    b.head.dispose();
    // A torn append (rows without keys) is cut off on the next open.
    const dir = path.join(cacheRoot, 'features', 'mobilenetv2-inat-birds', 'embedding@96', 'lr');
    await fs.appendFile(path.join(dir, 'rows.f32'), new Uint8Array(100));
    const bb = await loadPretrained('mobilenetv2-inat-birds', { offline: true });
    const again = await computeFeatures(split.val.images, parseView('lr'), { backboneId: bb.id, graph: bb.graph, inputSize: 96, cacheRoot });
    assert.equal(again.computed, 0);
    assert.equal((await fs.stat(path.join(dir, 'rows.f32'))).size % (1280 * 4), 0);
  });

  it('partial: fine-tunes the top blocks on cached activations, logs validation F1 per epoch, learns', async () => {
    await selectBackend('wasm', () => {});
    const cacheRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'plumage-partial-'));
    const split = loadTransferSplit(mini, { limit: 120, valFraction: 0.25, seed: 3, withTest: false });
    const logs: string[] = [];
    const checkpointDir = path.join(cacheRoot, 'run');
    const opts = { backbone: 'mobilenetv2-inat-birds', blocks: 14, inputSize: 64, trainViews: [parseView('lr'), parseView('hr'), parseView('lr.flip')], evalViews: [parseView('lr')], epochs: 2, batchSize: 16, cacheRoot, checkpointDir, weights: { offline: true }, log: (m: string) => logs.push(m) };
    const r = await runPartial(split, opts);
    // Activations below the 14 trained blocks: expanded_conv_3's output, computed once per view and image.
    assert.equal(r.featuresComputed, split.train.labels.length * 3 + split.val.labels.length);
    assert.ok(existsSync(path.join(cacheRoot, 'features', 'mobilenetv2-inat-birds', 'block-expanded_conv_3@64', 'hr')));
    const epochLines = logs.filter((l) => /epoch \d\/2 loss [\d.]+ val macro F1 \(lr\) [\d.]+$/.test(l));
    assert.equal(epochLines.length, 2, logs.join('\n'));
    assert.ok(r.valMacroF1 > 0.3, `val Macro F1 ${r.valMacroF1} (chance is 0.04)`);
    await assert.rejects(runPartial(split, { ...opts, blocks: 19 }), /blocks must be in 1\.\.18/);
    // The saved whole network (frozen blocks + trained ones + head) predicts from images what the recipe predicted
    // from cached activations.
    await assertCheckpointPredicts(path.join(checkpointDir, 'last.ckpt'), split.val.images, 64, r.valProbs);
  });

  it('registers pretrained MobileNetV2 architectures that build trainable logits models', async () => {
    await selectBackend('wasm', () => {});
    const { getArchitecture } = await import('../../src/models/index.js');
    const model = await getArchitecture('mobilenetv2-inat-birds').build({ numClasses: 25, inputSize: 64 });
    const y = model.predict(tf.zeros([2, 64, 64, 3])) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 25]);
    assert.ok(model.trainableWeights.length > 100);
    model.dispose();
  });

  it('full fine-tuning writes a checkpoint per epoch and resumes', async () => {
    await selectBackend('wasm', () => {});
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plumage-full-'));
    const split = loadTransferSplit(mini, { limit: 60, valFraction: 0.2, seed: 2, withTest: false });
    const logs: string[] = [];
    const opts = { backbone: 'mobilenetv2-inat-birds', checkpointDir: dir, inputSize: 64, epochs: 2, batchSize: 16, evalViews: [parseView('lr')], weights: { offline: true }, log: (m: string) => logs.push(m) };
    const first = await runFull(split, { ...opts, maxEpochsThisCall: 1 });
    assert.equal(first.epochsDone, 1);
    assert.equal(first.complete, false);
    assert.ok(existsSync(path.join(dir, 'last.ckpt')));
    const second = await runFull(split, opts);
    assert.ok(logs.some((l) => /resumed .* after epoch 1/.test(l)), logs.join('\n'));
    assert.equal(second.epochsDone, 2);
    assert.equal(second.complete, true);
    const state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as { history: { valMacroF1: number }[] };
    assert.equal(state.history.length, 2);
    assert.ok(state.history.every((h) => h.valMacroF1 >= 0 && h.valMacroF1 <= 1), 'validation F1 after every epoch');
    assert.equal(second.valProbs.length, split.val.labels.length * 25);
    await assert.rejects(runFull(split, { ...opts, inputSize: 96 }), /checkpoint is for/);

    // A time budget smaller than one epoch plans a single epoch (decided after the first one) and completes; CutMix on
    // every batch (soft targets) trains too.
    const budgetDir = await fs.mkdtemp(path.join(os.tmpdir(), 'plumage-full-budget-'));
    const budgeted = await runFull(split, { ...opts, checkpointDir: budgetDir, epochs: 3, timeBudgetMin: 1e-4, cutmix: 1 });
    assert.equal(budgeted.epochsDone, 1);
    assert.equal(budgeted.complete, true);
    assert.ok(logs.some((l) => /budget: planning 1 epochs/.test(l)), logs.join('\n'));
  });

  it('full fine-tuning with cross-resolution distillation: two views per image, half as many images per step', async () => {
    await selectBackend('wasm', () => {});
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plumage-full-xr-'));
    const split = loadTransferSplit(mini, { limit: 60, valFraction: 0.2, seed: 2, withTest: false });
    const logs: string[] = [];
    const opts = { backbone: 'mobilenetv2-inat-birds', checkpointDir: dir, inputSize: 64, epochs: 1, batchSize: 16, evalViews: [parseView('lr')], weights: { offline: true }, log: (m: string) => logs.push(m) };
    const r = await runFull(split, { ...opts, crossResolution: { weight: 1, temperature: 2 } });
    assert.equal(r.epochsDone, 1);
    const state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as { step: number; history: { loss: number }[] };
    assert.equal(state.step, Math.ceil(split.train.labels.length / 8), '8 images (16 rows) per step');
    assert.ok(Number.isFinite(state.history[0]!.loss) && state.history[0]!.loss > 0);
    // With random-resized crops and colour jitter (the two views of an image share them).
    const aug = await runFull(split, { ...opts, checkpointDir: `${dir}-aug`, crossResolution: { weight: 1, temperature: 2 }, augment: { cropScale: [0.7, 1], brightness: 0.2, contrast: 0.2, saturation: 0.2 } });
    assert.equal(aug.epochsDone, 1);
    assert.ok(aug.valProbs.every((p) => Number.isFinite(p)));
    assert.notDeepEqual(Array.from(aug.valProbs), Array.from(r.valProbs), 'augmentation changes what the model learns');
    await assert.rejects(runFull(split, { ...opts, checkpointDir: `${dir}-cm`, crossResolution: { weight: 1, temperature: 2 }, cutmix: 0.5 }), /cannot be combined with CutMix/);
    const noHr = { ...split, train: { ...split.train, images: split.train.images.map((im) => ({ lr: im.lr })) } };
    await assert.rejects(runFull(noHr, { ...opts, checkpointDir: `${dir}-nohr`, crossResolution: { weight: 1, temperature: 2 } }), /needs the 256px copy/);
  });

  it('full fine-tuning: pseudo-labels unlabelled images after an epoch, predicts at another size, and `predict` loads it', async () => {
    await selectBackend('wasm', () => {});
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'plumage-full-pl-'));
    const split = loadTransferSplit(mini, { limit: 60, valFraction: 0.2, seed: 3, withTest: false });
    // birds25-mini has no test.csv: its validation images stand in as the unlabelled set.
    split.test = { images: split.val.images, ids: split.val.ids };
    const logs: string[] = [];
    const r = await runFull(split, {
      backbone: 'mobilenetv2-inat-birds', checkpointDir: dir, inputSize: 64, evalInputSize: 96, epochs: 2, batchSize: 16, evalViews: [parseView('lr')],
      pseudoLabel: { afterEpoch: 1, threshold: 0 }, weights: { offline: true }, log: (m: string) => logs.push(m),
    });
    assert.equal(r.epochsDone, 2);
    const state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as { pseudo: { index: number; label: number }[] };
    // Threshold 0 takes every unlabelled image, each once, with a class label.
    assert.equal(state.pseudo.length, split.test.images.length);
    assert.deepEqual(state.pseudo.map((p) => p.index), split.test.images.map((_, i) => i));
    assert.ok(state.pseudo.every((p) => Number.isInteger(p.label) && p.label >= 0 && p.label < 25));
    assert.ok(logs.some((l) => /pseudo-labelled \d+ of \d+ test images/.test(l)), logs.join('\n'));
    // The fine-tuned checkpoint loads for `plumage predict` at its prediction size and gives the same probabilities.
    await assertCheckpointPredicts(path.join(dir, 'last.ckpt'), split.val.images, 96, r.valProbs);
  });
});
