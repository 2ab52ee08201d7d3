import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadDaconTest } from '../data/dacon.js';
import { labelsOf, subset, type Dataset } from '../data/dataset.js';
import { loadLabelledDataset } from '../data/load-dataset.js';
import { loadImagesWithProgress } from '../data/load-with-progress.js';
import { stratifiedKFold, stratifiedSplit } from '../data/split.js';
import { argmaxRows, classificationReport } from '../eval/metrics.js';
import { formatReportTable, writeReportFiles } from '../eval/report-files.js';
import { getArchitecture } from '../models/index.js';
import { loadRun } from '../predict/load-run.js';
import { predictProbs } from '../predict/predict-probs.js';
import { writeProbabilities, writeSubmission } from '../predict/submission.js';
import { selectBackend } from '../runtime/backend.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import type { TrainConfig } from './config.js';
import { fit, type FitResult, type ImageSet } from './fit.js';
import { prepareRunDir } from './run-dir.js';

export interface TrainSummary {
  runDir: string;
  backend: string;
  fit: FitResult;
  valF1: number;
  valAccuracy: number;
  trainImages: number;
  valImages: number;
  wallSeconds: number;
  inferImagesPerSec: number;
  submission?: string;
}

function splitData(ds: Dataset, cfg: TrainConfig): { train: Dataset; val: Dataset } {
  if (cfg.valData) {
    const val = loadLabelledDataset(cfg.valData, { classes: ds.classes, csvName: 'val.csv' });
    return { train: ds, val };
  }
  const labels = labelsOf(ds);
  if (cfg.folds > 1) {
    if (cfg.fold >= cfg.folds) throw new UserError(`--fold ${cfg.fold} must be below --folds ${cfg.folds}`);
    const f = stratifiedKFold(labels, cfg.folds, cfg.seed)[cfg.fold]!;
    return { train: subset(ds, f.train), val: subset(ds, f.val) };
  }
  const s = stratifiedSplit(labels, cfg.valFraction, cfg.seed);
  return { train: subset(ds, s.train), val: subset(ds, s.val) };
}

async function toImageSet(ds: Dataset, size: number, label: string, quiet: boolean, upscaleSize?: number): Promise<ImageSet> {
  const set: ImageSet = { pixels: await loadImagesWithProgress(ds.samples.map((s) => s.path), size, label, quiet), size, labels: labelsOf(ds) };
  if (upscaleSize) {
    const withUp = ds.samples.every((s) => s.upscalePath);
    if (!withUp) throw new UserError(`--augment.upscaleProb: ${ds.source} has no upscale_img_path for every row`);
    set.upscale = await loadImagesWithProgress(ds.samples.map((s) => s.upscalePath!), upscaleSize, `${label} (256px copies)`, quiet);
    set.upscaleSize = upscaleSize;
  }
  return set;
}

/** The whole `plumage train` job: data, split, model, fit, validation report, test predictions. */
export async function runTraining(cfg: TrainConfig, opts: { quiet?: boolean; interruptAfter?: number } = {}): Promise<TrainSummary> {
  const started = Date.now();
  const quiet = opts.quiet ?? false;
  const log = (m: string) => {
    if (!quiet) console.error(m);
  };
  const arch = getArchitecture(cfg.model);
  const inputSize = cfg.imageSize ?? arch.inputSize;
  prepareRunDir(cfg.project, cfg.name, { resume: cfg.resume, existOk: cfg.existOk, checkOnly: true });
  const full = loadLabelledDataset(cfg.data);
  let { train, val } = splitData(full, cfg);
  if (cfg.limit > 0 && cfg.limit < train.samples.length) {
    const keep = stratifiedSplit(labelsOf(train), cfg.limit / train.samples.length, cfg.seed).val;
    train = subset(train, keep);
  }
  if (train.samples.length === 0) throw new UserError(`--data: ${cfg.data} has no training images after the split`);
  const runDir = prepareRunDir(cfg.project, cfg.name, { resume: cfg.resume, existOk: cfg.existOk });
  const backend = await selectBackend(cfg.backend, log);
  log(`plumage train: ${cfg.model} on ${train.samples.length} train / ${val.samples.length} val images, ${full.classes.length} classes, ${inputSize}px, backend ${backend} -> ${runDir}`);
  writeFileAtomic(path.join(runDir, 'config.yaml'), YAML.stringify({ ...cfg, resume: undefined }));
  writeFileAtomic(path.join(runDir, 'split.json'), JSON.stringify({ train: train.samples.map((s) => s.id), val: val.samples.map((s) => s.id) }));

  const srcSize = Math.max(64, inputSize);
  const trainSet = await toImageSet(train, srcSize, 'decode train', quiet, cfg.augment.upscaleProb > 0 ? inputSize * 2 : undefined);
  const valSet = await toImageSet(val, srcSize, 'decode val', quiet);
  const model = await arch.build({ numClasses: full.classes.length, inputSize, seed: cfg.seed });
  const fitResult = await fit({ model, modelName: cfg.model, classes: full.classes, cfg, inputSize, train: trainSet, val: valSet, runDir, quiet, interruptAfter: opts.interruptAfter });
  model.dispose();
  if (fitResult.interrupted) {
    return { runDir, backend, fit: fitResult, valF1: NaN, valAccuracy: NaN, trainImages: train.samples.length, valImages: val.samples.length, wallSeconds: (Date.now() - started) / 1000, inferImagesPerSec: NaN };
  }

  const best = await loadRun(runDir, 'best');
  const t0 = Date.now();
  const probs = await predictProbs(best.model, valSet.pixels, valSet.size, { inputSize, hflipTta: cfg.tta });
  const inferImagesPerSec = (valSet.pixels.length * (cfg.tta ? 2 : 1)) / ((Date.now() - t0) / 1000);
  const report = classificationReport(valSet.labels, argmaxRows(probs, full.classes.length), full.classes);
  await writeReportFiles(runDir, 'val_', report, full.classes, `Validation confusion matrix (macro F1 ${report.macroF1.toFixed(4)})`);
  log(formatReportTable(report));

  let submission: string | undefined;
  const testCsv = path.join(cfg.data, 'test.csv');
  if (cfg.predictTest && !cfg.data.endsWith('.csv') && fs.existsSync(testCsv)) {
    const test = loadDaconTest(cfg.data, full.classes);
    const testPixels = await loadImagesWithProgress(test.samples.map((s) => s.path), srcSize, 'decode test', quiet);
    const testProbs = await predictProbs(best.model, testPixels, srcSize, { inputSize, hflipTta: cfg.tta });
    submission = path.join(runDir, 'submission.csv');
    writeSubmission(submission, test.samples.map((s) => s.id), testProbs, full.classes);
    writeProbabilities(path.join(runDir, 'test_probabilities.csv'), test.samples.map((s) => s.id), testProbs, full.classes);
    log(`wrote ${submission}`);
  }
  best.model.dispose();
  const summary: TrainSummary = {
    runDir,
    backend,
    fit: fitResult,
    valF1: report.macroF1,
    valAccuracy: report.accuracy,
    trainImages: train.samples.length,
    valImages: val.samples.length,
    wallSeconds: (Date.now() - started) / 1000,
    inferImagesPerSec,
    submission,
  };
  writeFileAtomic(path.join(runDir, 'summary.json'), JSON.stringify({ ...summary, fit: { ...fitResult, history: undefined } }, null, 2));
  return summary;
}
