import fs from 'node:fs';
import path from 'node:path';
import { loadDaconTest } from '../data/dacon.js';
import { labelsOf, subset, type Dataset } from '../data/dataset.js';
import { loadLabelledDataset } from '../data/load-dataset.js';
import { stratifiedKFold, stratifiedSplit } from '../data/split.js';
import { UserError } from '../util/errors.js';

export interface SplitConfig {
  data: string;
  valData?: string;
  valFraction: number;
  folds: number;
  fold: number;
  limit: number;
  seed: number;
  splitSeed?: number;
  predictTest: boolean;
}

/** The data of a run: classes, training and validation sets, and the unlabelled test set when there is one. */
export interface RunData {
  classes: string[];
  train: Dataset;
  val: Dataset;
  test?: Dataset;
}

/**
 * Loads --data and splits it, the same way for every recipe: --val-data, k-fold (--folds/--fold) or a seeded
 * stratified split (--val-fraction); --limit keeps a stratified subset of the training part. test.csv beside
 * train.csv (DACON folders) is the test set.
 */
export function loadRunData(cfg: SplitConfig): RunData {
  const seed = cfg.splitSeed ?? cfg.seed;
  const full = loadLabelledDataset(cfg.data);
  let train: Dataset;
  let val: Dataset;
  if (cfg.valData) {
    val = loadLabelledDataset(cfg.valData, { classes: full.classes, csvName: 'val.csv' });
    train = full;
  } else if (cfg.folds > 1) {
    if (cfg.fold >= cfg.folds) throw new UserError(`--fold ${cfg.fold} must be below --folds ${cfg.folds}`);
    const f = stratifiedKFold(labelsOf(full), cfg.folds, seed)[cfg.fold]!;
    train = subset(full, f.train);
    val = subset(full, f.val);
  } else {
    const s = stratifiedSplit(labelsOf(full), cfg.valFraction, seed);
    train = subset(full, s.train);
    val = subset(full, s.val);
  }
  if (cfg.limit > 0 && cfg.limit < train.samples.length) {
    train = subset(train, stratifiedSplit(labelsOf(train), cfg.limit / train.samples.length, seed).val);
  }
  if (train.samples.length === 0) throw new UserError(`--data: ${cfg.data} has no training images after the split`);
  if (val.samples.length === 0) throw new UserError(`--data: ${cfg.data} has no validation images after the split`);
  const testCsv = path.join(cfg.data, 'test.csv');
  const test = cfg.predictTest && !cfg.data.endsWith('.csv') && fs.existsSync(testCsv) ? loadDaconTest(cfg.data, full.classes) : undefined;
  return { classes: full.classes, train, val, test };
}
