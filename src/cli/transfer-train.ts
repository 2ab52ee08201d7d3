import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { classificationReport, argmaxRows } from '../eval/metrics.js';
import { formatReportTable, writeReportFiles } from '../eval/report-files.js';
import { writeProbabilities, writeSubmission } from '../predict/submission.js';
import { writeCsv } from '../data/csv.js';
import { selectBackend } from '../runtime/backend.js';
import { writeLearningCurve } from '../train/metrics-log.js';
import { prepareRunDir } from '../train/run-dir.js';
import type { TrainConfig } from '../train/config.js';
import { runTransferRecipe } from '../transfer/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/** `plumage train --recipe probe|partial|full --backbone ID[,ID]`: a pretrained-backbone run in its own run folder. */
export async function runTransferTraining(cfg: TrainConfig & { recipe: 'probe' | 'partial' | 'full' }): Promise<void> {
  const t = cfg;
  const runDir = prepareRunDir(cfg.project, cfg.name, { resume: cfg.resume, existOk: cfg.existOk || cfg.resume, prefix: t.recipe });
  const backend = await selectBackend(cfg.backend);
  console.error(`plumage train: ${t.recipe} on ${t.backbone.join('+')} (${cfg.imageSize ? `${cfg.imageSize}px` : 'default input size'}), backend ${backend} -> ${runDir}`);
  writeFileAtomic(path.join(runDir, 'config.yaml'), YAML.stringify({ ...cfg, resume: undefined }));
  const started = Date.now();
  const r = await runTransferRecipe({
    dataDir: cfg.data,
    recipe: t.recipe,
    backbones: t.backbone,
    inputSize: cfg.imageSize,
    trainViews: t.trainViews,
    evalViews: t.evalViews,
    head: t.head ? { kind: t.head, seed: cfg.seed } : undefined,
    blocks: t.blocks,
    epochs: cfg.epochs,
    batchSize: cfg.batchSize,
    learningRate: cfg.lr,
    backboneLrScale: cfg.backboneLrScale,
    labelSmoothing: cfg.labelSmoothing,
    checkpointDir: path.join(runDir, 'weights'),
    timeBudgetMin: cfg.timeBudgetMin,
    progress: true,
    cutmix: cfg.augment.cutmix,
    cutmixAlpha: cfg.augment.cutmixAlpha,
    evalSize: cfg.evalSize,
    pseudoLabel: cfg.pseudoLabel,
    pseudoAfter: cfg.pseudoAfter,
    augment: cfg.augment,
    hrTeacher: cfg.hrTeacher,
    hrTeacherTemp: cfg.hrTeacherTemp,
    valFraction: cfg.valFraction,
    seed: cfg.seed,
    weights: { modelsDir: t.modelsDir, log: (m) => console.error(m) },
    log: (m) => console.error(m),
  });
  const classes = r.split.classes;
  const report = classificationReport(r.split.val.labels, argmaxRows(r.valProbs, classes.length), classes);
  await writeReportFiles(runDir, 'val_', report, classes, `Validation confusion matrix (macro F1 ${report.macroF1.toFixed(4)})`);
  writeProbabilities(path.join(runDir, 'val_probabilities.csv'), r.split.val.ids, r.valProbs, classes);
  if (r.testProbs && r.split.test) {
    writeSubmission(path.join(runDir, 'submission.csv'), r.split.test.ids, r.testProbs, classes);
    writeProbabilities(path.join(runDir, 'test_probabilities.csv'), r.split.test.ids, r.testProbs, classes);
  }
  const statePath = path.join(runDir, 'weights', 'state.json');
  if (t.recipe === 'full' && fs.existsSync(statePath)) {
    // Per-epoch history of full fine-tuning: metrics.csv and learning_curve.png beside the report.
    const { history } = JSON.parse(fs.readFileSync(statePath, 'utf8')) as { history: { epoch: number; loss: number; seconds: number; valMacroF1?: number }[] };
    const rows = history.map((h) => ({ epoch: h.epoch, trainLoss: h.loss, valF1: h.valMacroF1 ?? NaN, seconds: h.seconds }));
    writeCsv(path.join(runDir, 'metrics.csv'), ['epoch', 'trainLoss', 'valF1', 'seconds'], rows.map((h) => [h.epoch, h.trainLoss, h.valF1, h.seconds]));
    await writeLearningCurve(path.join(runDir, 'learning_curve.png'), rows);
  }
  const summary = { recipe: t.recipe, backbones: t.backbone, backend, valMacroF1: r.valMacroF1, valAccuracy: r.valAccuracy, timings: r.timings, wallSeconds: (Date.now() - started) / 1000 };
  writeFileAtomic(path.join(runDir, 'summary.json'), JSON.stringify(summary, null, 2));
  console.log(formatReportTable(report));
  console.log(`val macro F1 ${r.valMacroF1.toFixed(4)}  (embedding ${r.timings.embeddingS.toFixed(0)} s, training ${r.timings.trainingS.toFixed(0)} s, prediction ${r.timings.predictionS.toFixed(0)} s)`);
  console.log(`run folder: ${runDir}`);
}
