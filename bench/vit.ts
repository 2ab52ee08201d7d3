/**
 * bench:vit — trains the small from-scratch SwinV2 and BEiT presets on birds25 within a fixed wall-clock budget per
 * model, then reports validation Macro F1, train/infer throughput and wall time in bench/results/vit.md, and writes
 * the SwinV2 test-set submission.
 *
 *   npm run bench:vit -- [--models swinv2-small-p2w8,beit-small-p8] [--budget-min 10] [--batch 32] [--lr 1e-3]
 *                        [--backend auto] [--data ../shared/data/birds25] [--submission-model swinv2-small-p2w8]
 *
 * Validation: a seeded stratified 10% split of train.csv (seed 42); nothing is tuned on the test set.
 * Training: AdamW (plumage's src/train/adamw.ts, wd 0.05), lr warmup (first 5% of the budget) then cosine to 1e-6,
 * as a function of elapsed time, because the budget — not an epoch count — ends training. Augmentation: hflip +
 * random-resized crop (scale 0.6-1), CutMix (p 0.5, soft labels), label smoothing 0.1.
 * Each model writes bench/results/tmp/vit-<model>.json; vit.md is regenerated from every such file present, so the
 * models can be run as separate processes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { augmentImage, augmentSchema } from '../src/augment/pipeline.js';
import { cutmixBatch } from '../src/augment/cutmix.js';
import { loadDaconTest } from '../src/data/dacon.js';
import { labelsOf, subset } from '../src/data/dataset.js';
import { loadLabelledDataset } from '../src/data/load-dataset.js';
import { loadImagesWithProgress } from '../src/data/load-with-progress.js';
import { stratifiedSplit } from '../src/data/split.js';
import { argmaxRows, classificationReport } from '../src/eval/metrics.js';
import { getArchitecture } from '../src/models/index.js';
import { predictProbs } from '../src/predict/predict-probs.js';
import { writeSubmission } from '../src/predict/submission.js';
import { selectBackend, type BackendName } from '../src/runtime/backend.js';
import { AdamW } from '../src/train/adamw.js';
import { smoothedTargets, softCrossEntropy } from '../src/train/soft-cross-entropy.js';
import { Rng } from '../src/util/random.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const models = arg('models', 'swinv2-small-p2w8,beit-small-p8').split(',');
const budgetMin = Number(arg('budget-min', '10'));
const batch = Number(arg('batch', '32'));
const baseLr = Number(arg('lr', '1e-3'));
const minLr = 1e-6;
const weightDecay = 0.05;
const seed = 42;
const dataDir = arg('data', '../shared/data/birds25');
const submissionModel = arg('submission-model', 'swinv2-small-p2w8');
const outDir = 'bench/results';
const tmpDir = path.join(outDir, 'tmp');
const size = 64;

interface Result {
  model: string;
  backend: string;
  params: number;
  budgetMin: number;
  batch: number;
  lr: number;
  steps: number;
  trainImages: number;
  epochsSeen: number;
  trainSeconds: number;
  trainImagesPerSec: number;
  finalTrainLoss: number;
  valImages: number;
  valMacroF1: number;
  valAccuracy: number;
  inferImagesPerSec: number;
  wallSeconds: number;
  submission?: string;
  finishedAt: string;
  /** 1-minute load average sampled every 10 steps during training (mean), when recorded. */
  loadAvg?: number;
}

function lrAt(fraction: number): number {
  const warm = 0.05;
  if (fraction < warm) return (baseLr * Math.max(fraction, 1e-3)) / warm;
  const p = Math.min(1, (fraction - warm) / (1 - warm));
  return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos(Math.PI * p));
}

async function main(): Promise<void> {
  fs.mkdirSync(tmpDir, { recursive: true });
  if (process.argv.includes('--report-only')) return writeMarkdown();
  const backend = await selectBackend(arg('backend', 'auto') as BackendName);
  const full = loadLabelledDataset(dataDir);
  const classes = full.classes;
  const split = stratifiedSplit(labelsOf(full), 0.1, seed);
  const train = subset(full, split.train);
  const val = subset(full, split.val);
  console.error(`bench:vit: ${train.samples.length} train / ${val.samples.length} val, ${classes.length} classes, backend ${backend}, budget ${budgetMin} min/model`);
  const trainPixels = await loadImagesWithProgress(train.samples.map((s) => s.path), size, 'decode train', true);
  const valPixels = await loadImagesWithProgress(val.samples.map((s) => s.path), size, 'decode val', true);
  const trainLabels = labelsOf(train);
  const valLabels = labelsOf(val);
  const aug = augmentSchema.parse({ hflip: true, cropScale: [0.6, 1], brightness: 0, contrast: 0, saturation: 0, cutmix: 0.5, cutmixAlpha: 1 });

  for (const name of models) {
    const wallStart = Date.now();
    const rng = new Rng(seed);
    const model = await getArchitecture(name).build({ numClasses: classes.length, inputSize: size });
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const opt = new AdamW(vars, { lr: baseLr, weightDecay, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const imgLen = size * size * 3;
    let order = rng.shuffle(trainPixels.map((_, i) => i));
    let cursor = 0;
    let steps = 0;
    let seen = 0;
    let lossEma = NaN;
    const loads: number[] = [];
    const budgetMs = budgetMin * 60_000;
    const t0 = Date.now();
    while (Date.now() - t0 < budgetMs) {
      if (cursor + batch > order.length) {
        order = rng.shuffle(order);
        cursor = 0;
      }
      const idx = order.slice(cursor, cursor + batch);
      cursor += batch;
      const x = new Float32Array(idx.length * imgLen);
      idx.forEach((i, b) => augmentImage(trainPixels[i]!, size, x, b * imgLen, size, aug, rng));
      const y = smoothedTargets(idx.map((i) => trainLabels[i]!), classes.length, 0.1);
      if (rng.next() < aug.cutmix) cutmixBatch(x, y, idx.length, size, classes.length, aug.cutmixAlpha, rng);
      opt.lr = lrAt((Date.now() - t0) / budgetMs);
      const xs = tf.tensor4d(x, [idx.length, size, size, 3]);
      const ys = tf.tensor2d(y, [idx.length, classes.length]);
      const { value, grads } = tf.variableGrads(() => softCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor), vars);
      opt.apply(vars.map((v) => grads[v.name]!));
      const loss = (await value.data())[0]!;
      tf.dispose([xs, ys, value, ...Object.values(grads)]);
      lossEma = Number.isNaN(lossEma) ? loss : 0.95 * lossEma + 0.05 * loss;
      steps++;
      seen += idx.length;
      if (steps % 10 === 0) {
        loads.push(os.loadavg()[0]!);
        const el = (Date.now() - t0) / 1000;
        console.error(`${name} step ${steps} seen ${seen} loss(ema) ${lossEma.toFixed(4)} lr ${opt.lr.toExponential(2)} ${(seen / el).toFixed(2)} img/s ${el.toFixed(0)}s`);
      }
    }
    const trainSeconds = (Date.now() - t0) / 1000;
    opt.dispose();

    const ti = Date.now();
    const probs = await predictProbs(model, valPixels, size, { inputSize: size, batchSize: 64, hflipTta: false });
    const inferImagesPerSec = valPixels.length / ((Date.now() - ti) / 1000);
    const report = classificationReport(valLabels, argmaxRows(probs, classes.length), classes);
    console.error(`${name}: val macro F1 ${report.macroF1.toFixed(4)}, accuracy ${report.accuracy.toFixed(4)}, infer ${inferImagesPerSec.toFixed(1)} img/s`);

    let submission: string | undefined;
    if (name === submissionModel) {
      const test = loadDaconTest(dataDir, classes);
      const testPixels = await loadImagesWithProgress(test.samples.map((s) => s.path), size, 'decode test', true);
      const testProbs = await predictProbs(model, testPixels, size, { inputSize: size, batchSize: 64, hflipTta: false });
      submission = path.join(outDir, 'birds25-swinv2-small.submission.csv');
      writeSubmission(submission, test.samples.map((s) => s.id), testProbs, classes);
      console.error(`wrote ${submission}`);
    }
    const result: Result = {
      model: name, backend, params: model.countParams(), budgetMin, batch, lr: baseLr, steps, trainImages: train.samples.length,
      epochsSeen: seen / train.samples.length, trainSeconds, trainImagesPerSec: seen / trainSeconds, finalTrainLoss: lossEma,
      valImages: val.samples.length, valMacroF1: report.macroF1, valAccuracy: report.accuracy, inferImagesPerSec,
      wallSeconds: (Date.now() - wallStart) / 1000, submission, finishedAt: new Date().toISOString(),
      loadAvg: loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : undefined,
    };
    fs.writeFileSync(path.join(tmpDir, `vit-${name}.json`), JSON.stringify(result, null, 2));
    model.dispose();
    writeMarkdown();
  }
}

function writeMarkdown(): void {
  const results = fs
    .readdirSync(tmpDir)
    .filter((f) => /^vit-.*\.json$/.test(f))
    .map((f) => JSON.parse(fs.readFileSync(path.join(tmpDir, f), 'utf8')) as Result)
    .sort((a, b) => a.model.localeCompare(b.model));
  const rows = results.map(
    (r) =>
      `| ${r.model} | ${(r.params / 1e6).toFixed(2)}M | ${r.backend} | ${r.budgetMin} min | ${r.steps} x ${r.batch} (${r.epochsSeen.toFixed(2)} epochs) | ` +
      `${r.finalTrainLoss.toFixed(3)} | **${r.valMacroF1.toFixed(4)}** | ${r.valAccuracy.toFixed(4)} | ${r.trainImagesPerSec.toFixed(2)} | ${r.inferImagesPerSec.toFixed(1)} | ${(r.wallSeconds / 60).toFixed(1)} min |`,
  );
  const md = `# bench:vit — SwinV2 / BEiT from scratch on birds25 (64px)

Generated by \`npm run bench:vit\` (bench/vit.ts). Each model trains from random initialisation for a fixed
wall-clock budget, then is evaluated once on a seeded (42) stratified 10% validation split of train.csv
(${results[0]?.valImages ?? '?'} images; ${results[0]?.trainImages ?? '?'} training images). Nothing is tuned on the test set.

Setup: AdamW (lr ${results[0]?.lr ?? baseLr}, weight decay ${weightDecay}, betas 0.9/0.999), linear warmup over the first 5% of the
budget then cosine to 1e-6 by elapsed time; batch ${results[0]?.batch ?? batch}; hflip + random-resized crop (0.6-1);
CutMix (p 0.5, alpha 1, soft labels); label smoothing 0.1; stochastic depth 0.1 (preset). Input normalisation is the
model's first layer (ImageNet mean/std for SwinV2, 0.5/0.5 for BEiT). Single view at evaluation (no TTA).

| model | params | backend | budget | steps x batch (epochs) | train loss (EMA) | val Macro F1 | val accuracy | train img/s | infer img/s | wall |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

"wall" covers training, validation inference and (SwinV2 only) decoding and predicting the ${'4573'}-image test set for
\`bench/results/birds25-swinv2-small.submission.csv\`; image decoding of train/val happens once before the first model.

**Read these numbers as what a shared, slow CPU box gives in the stated budget, not as what the architectures can
reach.** The machine has 2 cores shared with several other engineers' jobs${loadNote(results)}, so throughput is a
fraction of an idle machine's, and in this budget the models see well under one epoch of the data (column
"epochs"). Vision transformers trained from scratch on ~10k images need many epochs before they compete with a CNN;
these figures are a floor for the pipeline, not a tuned result.
${notes(results)}`;
  fs.writeFileSync(path.join(outDir, 'vit.md'), md);
}

function loadNote(results: Result[]): string {
  const l = results.map((r) => r.loadAvg).filter((v): v is number => v !== undefined);
  return l.length ? ` (1-minute load average ${Math.min(...l).toFixed(1)}-${Math.max(...l).toFixed(1)} during training)` : '';
}

function notes(results: Result[]): string {
  const lines = [''];
  if (results.length > 1) lines.push('The models were trained as separate, concurrent processes (one per model), so each also competed with the other.');
  lines.push(`Backend: ${[...new Set(results.map((r) => r.backend))].join(', ')} (chosen with \`--backend\`; see docs/vit.md for why not \`auto\`).`);
  return lines.join('\n') + '\n';
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
