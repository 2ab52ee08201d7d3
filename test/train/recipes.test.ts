import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/runtime/backend.js';
import { resolveTrainConfig } from '../../src/train/resolve-config.js';
import { readCsv } from '../../src/data/csv.js';
import { decodeImage } from '../../src/data/decode.js';
import { softVote } from '../../src/eval/soft-vote.js';
import { predictProbs } from '../../src/predict/predict-probs.js';
import { loadRun } from '../../src/runs/load-run.js';
import { planTotalSteps } from '../../src/train/budget.js';
import { parseView, viewKey } from '../../src/train/features.js';
import { runTraining } from '../../src/train/run-training.js';
import { crossResolutionLoss } from '../../src/train/tasks/cross-resolution.js';
import { selectPseudoLabels } from '../../src/train/tasks/pseudo-label.js';
import { mapSpecies } from '../../src/train/zeroshot.js';
import { parseLabels } from '../../src/weights/labels.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const models = path.resolve(root, '..', 'shared', 'models');
const mini = path.resolve(root, '..', 'shared', 'data', 'birds25-mini');
const skipShared = !existsSync(models) || !existsSync(mini) ? `skipped: ${models} or ${mini} is absent` : false;

describe('recipe building blocks', () => {
  it('view keys round-trip', () => {
    for (const k of ['lr', 'hr', 'lr.flip', 'hr.crop85c', 'lr.crop90tl.flip']) assert.equal(viewKey(parseView(k)), k);
    assert.throws(() => parseView('mid'), /bad view/);
  });

  it('soft vote averages probability matrices with weights', () => {
    assert.deepEqual(Array.from(softVote([new Float32Array([1, 0]), new Float32Array([0, 1])], [3, 1])), [0.75, 0.25]);
    assert.throws(() => softVote([new Float32Array(2), new Float32Array(3)]), /differ in size/);
  });

  it('time budget: whole epochs while they fit with their validation, then a partial one worth >= 10% of an epoch', () => {
    const base = { stepsDone: 0, stepsPerEpoch: 100, maxSteps: 1000, stepSeconds: 1, valSeconds: 10 };
    assert.equal(planTotalSteps({ ...base, remainingSeconds: 1e9 }), 1000, 'capped by epochs');
    assert.equal(planTotalSteps({ ...base, remainingSeconds: 330 }), 300, '3 x (100 + 10) s');
    assert.equal(planTotalSteps({ ...base, remainingSeconds: 400 }), 360, '3 epochs + 60 steps + 10 s validation');
    assert.equal(planTotalSteps({ ...base, remainingSeconds: 335 }), 300, 'a partial epoch under 10 steps is not worth it');
    assert.equal(planTotalSteps({ ...base, stepsDone: 150, remainingSeconds: 60 }), 200, 'from mid-epoch: finish the epoch (50 + 10 s)');
    assert.equal(planTotalSteps({ ...base, stepsDone: 150, remainingSeconds: -5 }), 150, 'out of time: no further step');
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


const FILES = ['config.yaml', 'split.json', 'weights/best.ckpt', 'weights/last.ckpt', 'metrics.csv', 'metrics.jsonl', 'learning_curve.png', 'val_report.json', 'val_per_class.csv', 'val_confusion_matrix.csv', 'val_confusion_matrix.png', 'val_probabilities.csv', 'summary.json'];

/** A tiny run of a recipe on birds25-mini (100 training images, 160 validation images, 64px). */
async function train(project: string, name: string, options: Record<string, unknown>, interruptAfter?: number) {
  const cfg = resolveTrainConfig({ data: mini, limit: 100, valFraction: 0.2, imageSize: 64, epochs: 2, batchSize: 16, project, name, ...options });
  return runTraining(cfg, { quiet: true, interruptAfter });
}

/**
 * `plumage train` in a child process, killed with SIGKILL as soon as epoch 1 is recorded (metrics.csv is written
 * after the epoch's checkpoint), i.e. during epoch 2: the run folder then holds no summary and one epoch.
 */
async function killAfterFirstEpoch(project: string, name: string, options: Record<string, unknown>): Promise<void> {
  const cfgFile = path.join(project, `${name}.yaml`);
  // a config file keeps augmentation keys under `augment` (flags and options may give them at the top level)
  const { cutmix, ...rest } = options;
  await fs.writeFile(cfgFile, JSON.stringify({ data: mini, limit: 100, valFraction: 0.2, imageSize: 64, epochs: 2, batchSize: 16, project, name, ...rest, ...(cutmix !== undefined ? { augment: { cutmix } } : {}) }));
  const child = spawn(process.execPath, [path.join(root, 'bin', 'plumage.js'), 'train', '--config', cfgFile], { stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const metrics = path.join(project, name, 'metrics.csv');
  let ended: NodeJS.Signals | number | null | undefined;
  void exited.then((r) => (ended = r));
  while (ended === undefined && !(existsSync(metrics) && (await fs.readFile(metrics, 'utf8')).trim().split('\n').length >= 2)) await new Promise((r) => setTimeout(r, 20));
  assert.equal(ended, undefined, `the child ended before epoch 1 was recorded (${ended}): ${stderr.slice(-2000)}`);
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  assert.ok(!existsSync(path.join(project, name, 'summary.json')), 'killed during epoch 2, before the run finished');
  assert.equal((await fs.readFile(metrics, 'utf8')).trim().split('\n').length, 2, 'one epoch recorded when killed');
  assert.ok(existsSync(path.join(project, name, 'weights', 'last.ckpt')));
}

/** The run folder's whole network, rebuilt as `plumage predict` does, predicts its validation images like the run did. */
async function assertRebuildPredicts(runDir: string): Promise<void> {
  const run = await loadRun(runDir);
  const ids = (JSON.parse(await fs.readFile(path.join(runDir, 'split.json'), 'utf8')) as { val: string[] }).val;
  const byId = new Map(readCsv(path.join(mini, 'train.csv'), ['id', 'img_path']).map((r) => [r.id!, path.join(mini, r.img_path!)]));
  const size = run.meta.inputSize;
  const px = await Promise.all(ids.map(async (id) => decodeImage(await fs.readFile(byId.get(id)!), size, id)));
  const p = await predictProbs(run.model, px, size, { inputSize: size, hflipTta: true });
  const rows = readCsv(path.join(runDir, 'val_probabilities.csv'), ['id']);
  const classes = run.meta.classes;
  let maxDiff = 0;
  rows.forEach((r, i) => classes.forEach((c, k) => (maxDiff = Math.max(maxDiff, Math.abs(Number(r[c]) - p[i * classes.length + k]!)))));
  assert.ok(maxDiff < 1e-4, `${runDir}: rebuilt network's probabilities differ by ${maxDiff}`);
  run.model.dispose();
}

describe('every recipe on the training engine (birds25-mini)', { skip: skipShared }, () => {
  for (const [recipe, extra] of [
    ['full', {}],
    ['partial', { trainViews: ['image', 'upscale'] }],
    ['probe', { epochs: 3, batchSize: 64 }],
  ] as const) {
    it(`${recipe}: one run folder layout, learns, the rebuilt network predicts what the run predicted`, { timeout: 300_000 }, async () => {
      await selectBackend('auto', () => {});
      const project = await fs.mkdtemp(path.join(os.tmpdir(), `plumage-${recipe}-`));
      process.env.PLUMAGE_CACHE = path.join(project, 'cache');
      const s = await train(project, 'run', { recipe, ...extra });
      for (const f of FILES) assert.ok(existsSync(path.join(project, 'run', f)), `${recipe}: missing ${f}`);
      assert.ok(s.valF1 > 0.3, `${recipe}: val Macro F1 ${s.valF1} (chance is 0.04)`);
      await assertRebuildPredicts(path.join(project, 'run'));
      if (recipe === 'probe') {
        // Embeddings are cached on disk: a second run computes none (the cache files do not change).
        const dir = path.join(project, 'cache', 'features', 'mobilenetv2-inat-birds', 'embedding@64', 'lr');
        const before = (await fs.stat(path.join(dir, 'rows.f32'))).mtimeMs;
        const again = await train(project, 'run2', { recipe, ...extra });
        assert.equal((await fs.stat(path.join(dir, 'rows.f32'))).mtimeMs, before);
        assert.equal(again.valF1, s.valF1, 'same seed, same cached features: same result');
      }
      delete process.env.PLUMAGE_CACHE;
    });
  }

  for (const recipe of ['scratch', 'full', 'partial'] as const) {
    it(`${recipe}: a run ${recipe === 'scratch' ? 'interrupted' : 'killed (SIGKILL)'} after epoch 1 and resumed ends with the metrics of an uninterrupted run`, { timeout: 300_000 }, async () => {
      await selectBackend('auto', () => {});
      const project = await fs.mkdtemp(path.join(os.tmpdir(), `plumage-resume-${recipe}-`));
      process.env.PLUMAGE_CACHE = path.join(project, 'cache');
      const extra = recipe === 'partial' ? { trainViews: ['image', 'upscale'] } : recipe === 'scratch' ? { model: 'resnet-tiny', imageSize: 32, cutmix: 0.5, upscaleProb: 0.5 } : { cutmix: 0.5 };
      const straight = await train(project, 'straight', { recipe, ...extra });
      if (recipe === 'scratch') {
        const first = await train(project, 'resumed', { recipe, ...extra }, 1);
        assert.equal(first.fit.interrupted, true);
      } else await killAfterFirstEpoch(project, 'resumed', { recipe, ...extra });
      const resumed = await train(project, 'resumed', { recipe, ...extra, resume: true });
      assert.equal(resumed.fit.history.length, 2);
      resumed.fit.history.forEach((h, i) => {
        const want = straight.fit.history[i]!;
        assert.ok(Math.abs(h.trainLoss - want.trainLoss) < 1e-5, `epoch ${i + 1} loss ${h.trainLoss} vs ${want.trainLoss}`);
        assert.equal(h.valF1, want.valF1, `epoch ${i + 1} val F1`);
      });
      assert.equal(resumed.valF1, straight.valF1);
      const tensors = straight.fit.history.map((h) => h.numTensors);
      assert.equal(tensors[1], tensors[0], `live tensors stay flat across epochs (no leak): ${tensors.join(', ')}`);
      delete process.env.PLUMAGE_CACHE;
    });
  }
});
