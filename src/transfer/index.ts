/**
 * Transfer learning entry points for the CLI.
 */
import type { CacheOptions } from '../weights/cache.js';
import { parseView, type ViewSpec } from './features.js';
import { runFull, type TrainAugment } from './full.js';
import type { HeadOptions } from './head.js';
import { ensemble, loadTransferSplit, type RecipeResult, runPartial, runProbe, type TransferSplit } from './recipes.js';
import { writeSubmission } from '../predict/submission.js';
import { zeroShotReport } from './zeroshot.js';

export * from './features.js';
export * from './full.js';
export * from './head.js';
export * from './recipes.js';
export * from './zeroshot.js';

export interface TransferRecipeOptions {
  /** DACON folder with train.csv (and test.csv to predict). */
  dataDir: string;
  recipe: 'probe' | 'partial' | 'full';
  /** Backbone ids; probe concatenates several, partial/full use the first. */
  backbones?: string[];
  inputSize?: number;
  /** View names, e.g. ['lr', 'hr', 'lr.flip'] (train) and ['lr', 'lr.flip'] (eval/TTA). */
  trainViews?: string[];
  evalViews?: string[];
  head?: HeadOptions;
  /** partial: number of last blocks to fine-tune (default 14 of 18). */
  blocks?: number;
  epochs?: number;
  /** partial/full: images per step (32 when unset), new-head learning rate (default 1e-3), pretrained
   * layers' multiplier of it (default 0.1), label smoothing (default 0.1). */
  batchSize?: number;
  learningRate?: number;
  backboneLrScale?: number;
  labelSmoothing?: number;
  /** full: checkpoint folder (resumes when it holds a checkpoint); partial: where the finished network is saved. */
  checkpointDir?: string;
  /** full: plan only as many epochs as fit in this many minutes (0 = no limit). */
  timeBudgetMin?: number;
  /** full: progress bar on stderr. */
  progress?: boolean;
  /** full: CutMix probability per batch (soft labels) and its Beta(alpha, alpha). */
  cutmix?: number;
  cutmixAlpha?: number;
  /** full: prediction input size (default inputSize). */
  evalSize?: number;
  /** full: pseudo-label threshold (0/undefined = off) and the epochs trained before it. */
  pseudoLabel?: number;
  pseudoAfter?: number;
  /** full: cross-resolution distillation weight (0/undefined = off) and temperature (default 2). */
  hrTeacher?: number;
  hrTeacherTemp?: number;
  /** full: random-resized crop / colour jitter of training views (used when it crops or jitters). */
  augment?: TrainAugment;
  valFraction?: number;
  seed?: number;
  /** Where to write the DACON submission (id,label in test.csv order), if test.csv exists. */
  submissionPath?: string;
  cacheRoot?: string;
  weights?: CacheOptions;
  log?: (msg: string) => void;
}

/** Runs one recipe on a DACON folder; returns validation metrics, probabilities and stage timings. */
export async function runTransferRecipe(opts: TransferRecipeOptions): Promise<RecipeResult & { split: TransferSplit }> {
  const split = loadTransferSplit(opts.dataDir, { valFraction: opts.valFraction, seed: opts.seed, withTest: true });
  const backbones = opts.backbones ?? ['mobilenetv2-inat-birds'];
  const views = (v: string[] | undefined): ViewSpec[] | undefined => v?.map(parseView);
  let r: RecipeResult;
  if (opts.recipe === 'probe') {
    r = await runProbe(split, { backbones, inputSize: opts.inputSize, trainViews: views(opts.trainViews), evalViews: views(opts.evalViews), head: opts.head, cacheRoot: opts.cacheRoot, weights: opts.weights, log: opts.log });
  } else if (opts.recipe === 'partial') {
    r = await runPartial(split, {
      backbone: backbones[0]!,
      blocks: opts.blocks ?? 14,
      inputSize: opts.inputSize,
      trainViews: views(opts.trainViews),
      evalViews: views(opts.evalViews),
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      learningRate: opts.learningRate,
      backboneLrScale: opts.backboneLrScale,
      labelSmoothing: opts.labelSmoothing,
      seed: opts.seed,
      cacheRoot: opts.cacheRoot,
      checkpointDir: opts.checkpointDir,
      weights: opts.weights,
      log: opts.log,
    });
  } else {
    if (!opts.checkpointDir) throw new Error('full fine-tuning needs a checkpoint folder (checkpointDir)');
    // Training views name the sources full fine-tuning samples from (flips are drawn at random anyway).
    const trainSources = opts.trainViews ? [...new Set(views(opts.trainViews)!.map((v) => v.source))] : undefined;
    const aug = opts.augment;
    r = await runFull(split, {
      backbone: backbones[0]!,
      checkpointDir: opts.checkpointDir,
      inputSize: opts.inputSize,
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      learningRate: opts.learningRate,
      backboneLrScale: opts.backboneLrScale,
      labelSmoothing: opts.labelSmoothing,
      trainSources,
      evalViews: views(opts.evalViews),
      timeBudgetMin: opts.timeBudgetMin,
      progress: opts.progress,
      cutmix: opts.cutmix,
      cutmixAlpha: opts.cutmixAlpha,
      evalInputSize: opts.evalSize,
      augment: aug && (aug.cropScale[0] < 1 || aug.brightness || aug.contrast || aug.saturation) ? aug : undefined,
      crossResolution: opts.hrTeacher ? { weight: opts.hrTeacher, temperature: opts.hrTeacherTemp ?? 2 } : undefined,
      pseudoLabel: opts.pseudoLabel ? { afterEpoch: opts.pseudoAfter ?? Math.ceil((opts.epochs ?? 3) / 2), threshold: opts.pseudoLabel } : undefined,
      seed: opts.seed,
      weights: opts.weights,
      log: opts.log,
    });
  }
  if (opts.submissionPath && r.testProbs) writeTransferSubmission(opts.submissionPath, split, r.testProbs);
  return { ...r, split };
}

/** Writes `id,label` rows in test.csv order (atomically, via the shared submission writer). */
export function writeTransferSubmission(file: string, split: TransferSplit, testProbs: Float32Array): void {
  if (!split.test) throw new Error('no test set');
  writeSubmission(file, split.test.ids, testProbs, split.classes);
}

/** Zero-shot Macro F1 of the iNat-birds head on the DACON classes it knows (validation split of dataDir). */
export async function zeroShotOnDacon(dataDir: string, opts: { inputSize?: number; seed?: number; weights?: CacheOptions; cacheRoot?: string } = {}) {
  const split = loadTransferSplit(dataDir, { seed: opts.seed, withTest: false });
  return zeroShotReport(split, { inputSize: opts.inputSize, weights: opts.weights, cacheRoot: opts.cacheRoot });
}

export { ensemble };
