import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { argmaxRows, classificationReport } from '../eval/metrics.js';
import { formatReportTable, writeReportFiles } from '../eval/report-files.js';
import { writeProbabilities, writeSubmission } from '../predict/submission.js';
import { checkpointPaths, loadWeightsInto, readCheckpoint } from '../runs/checkpoint.js';
import { prepareRunDir } from '../runs/run-dir.js';
import { selectBackend } from '../runtime/backend.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { TrainConfig } from './config.js';
import { loadRunData, type RunData } from './data-split.js';
import { runEngine, type EngineResult } from './engine.js';
import type { TrainTask } from './task.js';
import { fullTask } from './tasks/full.js';
import { partialTask } from './tasks/partial.js';
import { probeTask } from './tasks/probe.js';
import { scratchTask } from './tasks/scratch.js';

export interface TrainSummary {
  runDir: string;
  recipe: string;
  model: string;
  backend: string;
  fit: EngineResult;
  /** Epochs trained (the last may be partial under a time budget). */
  epochs: number;
  valF1: number;
  valAccuracy: number;
  trainImages: number;
  valImages: number;
  /** Seconds: the whole job, setup (decoding, caches), training with per-epoch validation, final predictions. */
  wallSeconds: number;
  setupSeconds: number;
  trainSeconds: number;
  predictSeconds: number;
  inferImagesPerSec: number;
  submission?: string;
}

async function buildTask(cfg: TrainConfig, data: RunData, quiet: boolean, log: (m: string) => void): Promise<TrainTask> {
  switch (cfg.recipe) {
    case 'scratch':
      return scratchTask(cfg, data, quiet);
    case 'full':
      return fullTask(cfg, data, quiet);
    case 'partial':
      return partialTask(cfg, data, quiet, log);
    case 'probe':
      return probeTask(cfg, data, quiet, log);
  }
}

/**
 * The whole `plumage train` job, for every recipe: data and split, the recipe's task, the engine, then the
 * validation report of the best checkpoint and the test predictions, all in one run folder.
 */
export async function runTraining(cfg: TrainConfig, opts: { quiet?: boolean; interruptAfter?: number } = {}): Promise<TrainSummary> {
  const started = Date.now();
  const quiet = opts.quiet ?? false;
  const log = (m: string) => {
    if (!quiet) console.error(m);
  };
  prepareRunDir(cfg.project, cfg.name, { resume: cfg.resume, existOk: cfg.existOk, prefix: cfg.recipe === 'scratch' ? 'train' : cfg.recipe, checkOnly: true });
  const data = loadRunData(cfg);
  const runDir = prepareRunDir(cfg.project, cfg.name, { resume: cfg.resume, existOk: cfg.existOk, prefix: cfg.recipe === 'scratch' ? 'train' : cfg.recipe });
  const backend = await selectBackend(cfg.backend, log);
  log(`plumage train: recipe ${cfg.recipe}, ${cfg.model} on ${data.train.samples.length} train / ${data.val.samples.length} val images, ${data.classes.length} classes, backend ${backend} -> ${runDir}`);
  writeFileAtomic(path.join(runDir, 'config.yaml'), YAML.stringify({ ...cfg, resume: undefined }));
  writeFileAtomic(path.join(runDir, 'split.json'), JSON.stringify({ data: cfg.data, train: data.train.samples.map((s) => s.id), val: data.val.samples.map((s) => s.id) }));

  const task = await buildTask(cfg, data, quiet, log);
  const setupSeconds = (Date.now() - started) / 1000;
  const nVal = data.val.samples.length;
  const views = cfg.tta ? 2 : 1;
  const fit = await runEngine({
    task,
    cfg,
    classes: data.classes,
    valLabels: data.val.samples.map((s) => s.label!),
    runDir,
    meta: { model: cfg.model, numClasses: data.classes.length, inputSize: 0, classes: data.classes },
    startedAt: started,
    finalPredictionPasses: (views * (nVal + (data.test?.samples.length ?? 0))) / nVal,
    quiet,
    log,
    interruptAfter: opts.interruptAfter,
  });
  const trainSeconds = (Date.now() - started) / 1000 - setupSeconds;
  const base = { runDir, recipe: cfg.recipe, model: cfg.model, backend, fit, epochs: fit.history.length, trainImages: data.train.samples.length, valImages: nVal, setupSeconds, trainSeconds };
  if (fit.interrupted) {
    task.dispose();
    return { ...base, valF1: NaN, valAccuracy: NaN, wallSeconds: (Date.now() - started) / 1000, predictSeconds: 0, inferImagesPerSec: NaN };
  }

  // The final report: the best checkpoint, with flip TTA when asked.
  const best = checkpointPaths(runDir).best;
  const ckpt = readCheckpoint(best);
  loadWeightsInto(task.model, ckpt, best);
  ckpt.extra.forEach((t) => t.dispose());
  const t0 = Date.now();
  const probs = await task.predict('val', cfg.tta);
  const inferImagesPerSec = (nVal * views) / ((Date.now() - t0) / 1000);
  const report = classificationReport(data.val.samples.map((s) => s.label!), argmaxRows(probs, data.classes.length), data.classes);
  await writeReportFiles(runDir, 'val_', report, data.classes, `Validation confusion matrix (macro F1 ${report.macroF1.toFixed(4)})`);
  writeProbabilities(path.join(runDir, 'val_probabilities.csv'), data.val.samples.map((s) => s.id), probs, data.classes);
  log(formatReportTable(report));
  let submission: string | undefined;
  if (data.test) {
    const testProbs = await task.predict('test', cfg.tta);
    const ids = data.test.samples.map((s) => s.id);
    submission = path.join(runDir, 'submission.csv');
    writeSubmission(submission, ids, testProbs, data.classes);
    writeProbabilities(path.join(runDir, 'test_probabilities.csv'), ids, testProbs, data.classes);
    log(`wrote ${submission}`);
  }
  const predictSeconds = (Date.now() - t0) / 1000;
  task.dispose();
  const summary: TrainSummary = { ...base, valF1: report.macroF1, valAccuracy: report.accuracy, wallSeconds: (Date.now() - started) / 1000, predictSeconds, inferImagesPerSec, submission };
  writeFileAtomic(path.join(runDir, 'summary.json'), JSON.stringify({ ...summary, fit: { ...fit, history: undefined } }, null, 2));
  return summary;
}

/** True when a run folder holds a finished run (its summary.json). */
export function isFinishedRun(runDir: string): boolean {
  return fs.existsSync(path.join(runDir, 'summary.json'));
}
