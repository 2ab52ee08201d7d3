import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import YAML from 'yaml';
import { labelsOf, subset } from '../data/dataset.js';
import { loadLabelledDataset } from '../data/load-dataset.js';
import { loadImagesWithProgress } from '../data/load-with-progress.js';
import { argmaxRows, classificationReport } from '../eval/metrics.js';
import { formatReportTable, writeReportFiles } from '../eval/report-files.js';
import { loadRun } from '../runs/load-run.js';
import { predictProbs } from '../predict/predict-probs.js';
import { selectBackend, type BackendName } from '../runtime/backend.js';
import { UserError } from '../util/errors.js';
import { zeroShotOnDacon } from '../train/zeroshot.js';

export function evaluateCommand(): Command {
  return new Command('evaluate')
    .description("score a trained run on labelled data: macro F1, accuracy, per-class metrics, confusion matrix (CSV + PNG)")
    .option('--run <dir>', 'run folder (uses weights/best.ckpt) or a .ckpt file')
    .option('--zero-shot', "instead of a run: zero-shot macro F1 of the iNat-birds classifier on the DACON species it knows (validation split of --data)")
    .option('--models-dir <dir>', 'pretrained models folder for --zero-shot')
    .option('--data <path>', "labelled CSV/DACON folder/ImageFolder (default: the run's own validation split)")
    .option('--out <dir>', 'where to write the report (default <run>/eval)')
    .option('--tta', 'average with the horizontally flipped image')
    .option('--backend <name>', 'auto | torch | wasm | cpu', 'auto')
    .action(async (flags: { run?: string; data?: string; out?: string; tta?: boolean; backend: BackendName; zeroShot?: boolean; modelsDir?: string }) => {
      await selectBackend(flags.backend);
      if (flags.zeroShot) {
        const data = flags.data ?? '../shared/data/birds25';
        const r = await zeroShotOnDacon(data, { weights: { modelsDir: flags.modelsDir } });
        for (const c of r.perClass) console.log(`${c.species.padEnd(28)} f1 ${c.f1.toFixed(4)}  support ${c.support}`);
        console.log(`zero-shot (${r.backbone}): macro F1 ${r.macroF1.toFixed(4)}, accuracy ${r.accuracy.toFixed(4)} over ${r.mapped.length} mapped species, ${r.images} images`);
        return;
      }
      if (!flags.run) throw new UserError('evaluate: --run is required (or --zero-shot)');
      const run = await loadRun(flags.run);
      const classes = run.meta.classes;
      let ds;
      if (flags.data) ds = loadLabelledDataset(flags.data, { classes, csvName: fs.existsSync(path.join(flags.data, 'val.csv')) && !fs.existsSync(path.join(flags.data, 'train.csv')) ? 'val.csv' : undefined });
      else {
        const runDir = path.dirname(path.dirname(run.checkpoint));
        const cfgFile = path.join(runDir, 'config.yaml');
        const splitFile = path.join(runDir, 'split.json');
        if (!fs.existsSync(cfgFile) || !fs.existsSync(splitFile)) throw new UserError(`--data is required: ${runDir} has no config.yaml/split.json`);
        const cfg = YAML.parse(fs.readFileSync(cfgFile, 'utf8')) as { data: string; valData?: string };
        if (cfg.valData) ds = loadLabelledDataset(cfg.valData, { classes, csvName: 'val.csv' });
        else {
          const full = loadLabelledDataset(cfg.data, { classes });
          const valIds = new Set((JSON.parse(fs.readFileSync(splitFile, 'utf8')) as { val: string[] }).val);
          ds = subset(full, full.samples.flatMap((s, i) => (valIds.has(s.id) ? [i] : [])));
        }
      }
      const size = Math.max(64, run.meta.inputSize);
      const pixels = await loadImagesWithProgress(ds.samples.map((s) => s.path), size, 'decode');
      const probs = await predictProbs(run.model, pixels, size, { inputSize: run.meta.inputSize, hflipTta: flags.tta });
      const report = classificationReport(labelsOf(ds), argmaxRows(probs, classes.length), classes);
      const out = flags.out ?? path.join(path.dirname(path.dirname(run.checkpoint)), 'eval');
      await writeReportFiles(out, '', report, classes, `Confusion matrix (macro F1 ${report.macroF1.toFixed(4)})`);
      console.log(formatReportTable(report));
      console.log(`report written to ${out}`);
    });
}
