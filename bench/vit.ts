/**
 * bench:vit — trains the small from-scratch SwinV2 and BEiT presets on birds25 within a fixed wall-clock budget per
 * model, then reports validation Macro F1, train/infer throughput and wall time in bench/results/vit.md, and writes
 * the SwinV2 test-set submission.
 *
 *   npm run bench:vit -- [--models swinv2-small-p2w8,beit-small-p8] [--budget-min 10] [--batch 32] [--lr 1e-3]
 *                        [--backend auto] [--data ../shared/data/birds25] [--submission-model swinv2-small-p2w8]
 *
 * Validation: a seeded stratified 10% split of train.csv (seed 42); nothing is tuned on the test set.
 * Training: the training engine (`plumage train --recipe scratch`), AdamW (wd 0.05), warmup over 5% of an epoch then
 * cosine to 1e-6 over the steps the time budget plans. Augmentation: hflip +
 * random-resized crop (scale 0.6-1), CutMix (p 0.5, soft labels), label smoothing 0.1.
 * Each model writes bench/results/tmp/vit-<model>.json; vit.md is regenerated from every such file present, so the
 * models can be run as separate processes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveTrainConfig } from '../src/train/resolve-config.js';
import { getArchitecture } from '../src/models/index.js';
import type { BackendName } from '../src/runtime/backend.js';
import { runTraining } from '../src/train/run-training.js';

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
  for (const name of models) {
    const loads: number[] = [];
    const timer = setInterval(() => loads.push(os.loadavg()[0]!), 10_000);
    // The training engine, as `plumage train --recipe scratch` runs it: the budget covers decoding, training,
    // per-epoch validation and the final predictions.
    const cfg = resolveTrainConfig({
      recipe: 'scratch',
      model: name,
      data: dataDir,
      imageSize: size,
      epochs: 30,
      timeBudgetMin: budgetMin,
      batchSize: batch,
      lr: baseLr,
      weightDecay,
      minLr,
      warmupEpochs: 0.05,
      seed,
      cropScale: [0.6, 1],
      brightness: 0,
      contrast: 0,
      saturation: 0,
      cutmix: 0.5,
      tta: false,
      predictTest: name === submissionModel,
      backend: arg('backend', 'auto') as BackendName,
      project: tmpDir,
      name: `vit-${name}`,
      existOk: true,
    });
    fs.rmSync(path.join(tmpDir, `vit-${name}`), { recursive: true, force: true });
    const s = await runTraining(cfg);
    clearInterval(timer);
    const h = s.fit.history;
    const steps = h.at(-1)?.steps ?? 0;
    let submission: string | undefined;
    if (s.submission) {
      submission = path.join(outDir, 'birds25-swinv2-small.submission.csv');
      fs.copyFileSync(s.submission, submission);
    }
    const params = (await getArchitecture(name).build({ numClasses: 25, inputSize: size })).countParams();
    const result: Result = {
      model: name, backend: s.backend, params, budgetMin, batch, lr: baseLr, steps, trainImages: s.trainImages,
      epochsSeen: (steps * batch) / s.trainImages, trainSeconds: s.trainSeconds,
      trainImagesPerSec: h.reduce((a, r) => a + r.trainImagesPerSec, 0) / Math.max(1, h.length), finalTrainLoss: h.at(-1)?.trainLoss ?? NaN,
      valImages: s.valImages, valMacroF1: s.valF1, valAccuracy: s.valAccuracy, inferImagesPerSec: s.inferImagesPerSec,
      wallSeconds: s.wallSeconds, submission, finishedAt: new Date().toISOString(),
      loadAvg: loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : undefined,
    };
    fs.writeFileSync(path.join(tmpDir, `vit-${name}.json`), JSON.stringify(result, null, 2));
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

Setup: the training engine (\`plumage train --recipe scratch\`, the budget covering decoding, training, per-epoch
validation and predictions): AdamW (lr ${results[0]?.lr ?? baseLr}, weight decay ${weightDecay}, betas 0.9/0.999), linear warmup over 5% of an
epoch then cosine to 1e-6 over the planned steps; batch ${results[0]?.batch ?? batch}; hflip + random-resized crop (0.6-1);
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
