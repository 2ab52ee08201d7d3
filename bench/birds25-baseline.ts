/**
 * bench:birds25 — trains the baseline ResNet on ../shared/data/birds25 (10% stratified validation split),
 * predicts the test set, and writes bench/results/birds25-baseline.{json,submission.csv}.
 * Usage: npm run bench:birds25 [-- --minutes 20 --model resnet-mini --backend auto]
 * The budget covers the whole job (decoding, training with per-epoch validation, final predictions), as in `plumage train`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { resolveTrainConfig } from '../src/train/resolve-config.js';
import { runTraining } from '../src/train/run-training.js';

const opts = new Command()
  .option('--data <dir>', 'DACON folder', '../shared/data/birds25')
  .option('--model <name>', 'architecture', 'resnet-mini')
  .option('--minutes <m>', 'training time budget', '20')
  .option('--epochs <n>', 'maximum epochs', '30')
  .option('--backend <name>', 'auto | torch | wasm | cpu', 'auto')
  .option('--cutmix <p>', 'CutMix probability per batch (short budgets learn faster without it)', '0')
  .option('--warmup-epochs <n>', 'linear warmup epochs', '0.3')
  .parse()
  .opts<{ data: string; model: string; minutes: string; epochs: string; backend: string; cutmix: string; warmupEpochs: string }>();

if (!fs.existsSync(path.join(opts.data, 'train.csv'))) {
  console.error(`bench:birds25: ${opts.data}/train.csv not found (../shared/data/birds25 is needed)`);
  process.exit(2);
}
const resultsDir = path.resolve('bench', 'results');
const name = `birds25-baseline-${Date.now()}`;
const cfg = resolveTrainConfig({
  recipe: 'scratch',
  data: opts.data,
  model: opts.model,
  epochs: Number(opts.epochs),
  timeBudgetMin: Number(opts.minutes),
  backend: opts.backend,
  project: path.join(resultsDir, 'tmp'),
  name,
  valFraction: 0.1,
  warmupEpochs: Number(opts.warmupEpochs),
  cutmix: Number(opts.cutmix),
});
const loadStart = os.loadavg();
const summary = await runTraining(cfg);
const history = summary.fit.history;
const result = {
  command: `npm run bench:birds25 -- ${process.argv.slice(2).join(' ')}`.trim(),
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, loadavgStart: loadStart, loadavgEnd: os.loadavg() },
  backend: summary.backend,
  model: cfg.model,
  trainImages: summary.trainImages,
  valImages: summary.valImages,
  epochs: history.length,
  bestEpoch: summary.fit.bestEpoch,
  valMacroF1: summary.valF1,
  valAccuracy: summary.valAccuracy,
  valMacroF1PerEpoch: history.map((h) => Number(h.valF1.toFixed(4))),
  trainImagesPerSec: history.reduce((a, h) => a + h.trainImagesPerSec, 0) / Math.max(1, history.length),
  inferImagesPerSec: summary.inferImagesPerSec,
  wallSeconds: summary.wallSeconds,
  trainSeconds: history.reduce((a, h) => a + h.seconds, 0),
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
  config: { ...cfg, project: undefined, name: undefined },
};
fs.mkdirSync(resultsDir, { recursive: true });
fs.writeFileSync(path.join(resultsDir, 'birds25-baseline.json'), JSON.stringify(result, null, 2) + '\n');
if (summary.submission) fs.copyFileSync(summary.submission, path.join(resultsDir, 'birds25-baseline.submission.csv'));
console.log(JSON.stringify({ valMacroF1: result.valMacroF1, epochs: result.epochs, trainImagesPerSec: result.trainImagesPerSec, wallSeconds: result.wallSeconds, peakRssMiB: result.peakRssMiB }, null, 2));
