import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { augmentImage } from '../augment/pipeline.js';
import { cutmixBatch } from '../augment/cutmix.js';
import { setDropoutStream } from '../models/layers/seeded-dropout.js';
import { classificationReport, argmaxRows } from '../eval/metrics.js';
import { predictProbs } from '../predict/predict-probs.js';
import { Rng, deriveSeed } from '../util/random.js';
import { AdamW } from './adamw.js';
import { readCheckpoint, loadWeightsInto, saveCheckpoint, type CheckpointMeta } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { writeMetricsFiles, type EpochRecord } from './metrics-log.js';
import { TrainProgress } from './progress.js';
import { usesWeightDecay } from './weight-decay.js';
import { cosineWithWarmup, EarlyStopping, ReduceLROnPlateau } from './schedulers.js';
import { smoothedTargets, softCrossEntropy } from './soft-cross-entropy.js';

/** Decoded images for training or validation: HWC uint8 at `size`, plus optional 256px-copy pixels at `upscaleSize`. */
export interface ImageSet {
  pixels: Uint8Array[];
  size: number;
  labels: number[];
  upscale?: Uint8Array[];
  upscaleSize?: number;
}

export interface FitOptions {
  model: tfl.LayersModel;
  modelName: string;
  classes: string[];
  cfg: TrainConfig;
  inputSize: number;
  train: ImageSet;
  val: ImageSet;
  runDir: string;
  quiet?: boolean;
  /** Stop (as if interrupted) after this many epochs of this call; used to test --resume. */
  interruptAfter?: number;
  /** Per-variable learning-rate multipliers (layer-wise lr decay), in trainableWeights order. */
  lrMultipliers?: number[];
}

export interface FitResult {
  history: EpochRecord[];
  bestF1: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  interrupted: boolean;
}

interface TrainState {
  epochsDone: number;
  history: EpochRecord[];
  plateau: { best: number; badEpochs: number };
  early: { best: number; wait: number };
  bestF1: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Epochs the schedule plans for: cfg.epochs, or fewer when a time budget allows fewer (set after epoch 1). */
  plannedEpochs: number;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function checkpointPaths(runDir: string): { last: string; best: string } {
  return { last: path.join(runDir, 'weights', 'last.ckpt'), best: path.join(runDir, 'weights', 'best.ckpt') };
}

/** Trains `model` with AdamW, the configured scheduler, early stopping on validation Macro F1 and checkpoints. */
export async function fit(opts: FitOptions): Promise<FitResult> {
  const { model, cfg, train, val, inputSize, runDir, classes } = opts;
  const numClasses = classes.length;
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  // Decay kernels only: not biases, norms, tokens, position tables or logit scales.
  const decayMask = model.trainableWeights.map((w) => usesWeightDecay(w.originalName, w.shape.length));
  const optimizer = new AdamW(vars, { lr: cfg.lr, weightDecay: cfg.weightDecay, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, opts.lrMultipliers, decayMask);
  const plateau = new ReduceLROnPlateau(cfg.plateauFactor, cfg.plateauPatience, cfg.minLr);
  const early = new EarlyStopping(cfg.earlyStopPatience, cfg.earlyStopMinDelta);
  const paths = checkpointPaths(runDir);
  const meta = (state: TrainState): CheckpointMeta => ({ model: opts.modelName, numClasses, inputSize, classes, optimizer: { step: optimizer.step, lr: optimizer.lr }, state });

  let state: TrainState = { epochsDone: 0, history: [], plateau: plateau.state(), early: early.state(), bestF1: -1, bestEpoch: -1, stoppedEarly: false, plannedEpochs: cfg.epochs };
  if (cfg.resume && fs.existsSync(paths.last)) {
    const ckpt = readCheckpoint(paths.last);
    loadWeightsInto(model, ckpt, paths.last);
    const o = ckpt.meta.optimizer as { step: number; lr: number };
    optimizer.loadState(o.step, o.lr, ckpt.extra);
    ckpt.extra.forEach((t) => t.dispose());
    state = ckpt.meta.state as TrainState;
    plateau.loadState(state.plateau);
    early.loadState(state.early);
  }

  const batch = Math.min(cfg.batchSize, train.pixels.length);
  const stepsPerEpoch = Math.max(1, Math.floor(train.pixels.length / batch));
  const optSteps = Math.ceil(stepsPerEpoch / cfg.accumulate);
  const warmupSteps = Math.round(cfg.warmupEpochs * optSteps);
  const imgLen = inputSize * inputSize * 3;
  const progress = new TrainProgress('epoch', !opts.quiet);
  const budgetMs = cfg.timeBudgetMin * 60_000;
  const spentBefore = state.history.reduce((a, h) => a + h.seconds * 1000, 0);
  const started = Date.now();
  let epochsThisCall = 0;
  let interrupted = false;

  for (let epoch = state.epochsDone; epoch < state.plannedEpochs && !state.stoppedEarly; epoch++) {
    if (opts.interruptAfter !== undefined && epochsThisCall >= opts.interruptAfter) {
      interrupted = true;
      break;
    }
    if (budgetMs > 0 && spentBefore + (Date.now() - started) > budgetMs) break;
    const epochStart = Date.now();
    const rng = new Rng(deriveSeed(cfg.seed, epoch));
    setDropoutStream(deriveSeed(cfg.seed ^ 0x5eed, epoch));
    const order = rng.shuffle(train.pixels.map((_, i) => i));
    const lastF1 = state.history.length ? state.history[state.history.length - 1]!.valF1.toFixed(4) : '-';
    progress.startEpoch(`${epoch + 1}/${state.plannedEpochs}`, stepsPerEpoch, lastF1);
    const totalOptSteps = optSteps * state.plannedEpochs;
    let lossSum = 0;
    let accum: tf.Tensor[] | null = null;
    let micro = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      const idx = order.slice(s * batch, (s + 1) * batch);
      const x = new Float32Array(idx.length * imgLen);
      idx.forEach((i, b) => {
        const useUp = train.upscale && train.upscaleSize && rng.next() < cfg.augment.upscaleProb;
        if (useUp) augmentImage(train.upscale![i]!, train.upscaleSize!, x, b * imgLen, inputSize, cfg.augment, rng);
        else augmentImage(train.pixels[i]!, train.size, x, b * imgLen, inputSize, cfg.augment, rng);
      });
      const y = smoothedTargets(idx.map((i) => train.labels[i]!), numClasses, cfg.labelSmoothing);
      if (cfg.augment.cutmix > 0 && rng.next() < cfg.augment.cutmix) cutmixBatch(x, y, idx.length, inputSize, numClasses, cfg.augment.cutmixAlpha, rng);
      if (cfg.scheduler === 'cosine') optimizer.lr = cosineWithWarmup(optimizer.step, totalOptSteps, warmupSteps, cfg.lr, cfg.minLr);
      const xs = tf.tensor4d(x, [idx.length, inputSize, inputSize, 3]);
      const ys = tf.tensor2d(y, [idx.length, numClasses]);
      const { value, grads } = tf.variableGrads(() => softCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor), vars);
      xs.dispose();
      ys.dispose();
      const gradList = vars.map((v) => grads[v.name]!);
      if (accum === null) accum = gradList;
      else {
        const prev: tf.Tensor[] = accum;
        accum = prev.map((a, i) => tf.add(a, gradList[i]!));
        prev.forEach((t) => t.dispose());
        gradList.forEach((t) => t.dispose());
      }
      micro++;
      if (micro === cfg.accumulate || s === stepsPerEpoch - 1) {
        const scaled = micro === 1 ? accum : accum.map((g) => tf.div(g, micro));
        optimizer.apply(scaled);
        if (scaled !== accum) scaled.forEach((t) => t.dispose());
        accum.forEach((t) => t.dispose());
        accum = null;
        micro = 0;
      }
      const loss = (await value.data())[0]!;
      value.dispose();
      lossSum += loss;
      progress.step(idx.length, lossSum / (s + 1), optimizer.lr);
      await yieldToEventLoop(); // lets the progress bar's timer (and signal handlers) run between steps
    }
    const trainSeconds = (Date.now() - epochStart) / 1000;
    const trainRate = (stepsPerEpoch * batch) / trainSeconds;
    const probs = await predictProbs(model, val.pixels, val.size, { inputSize, batchSize: 128 });
    const report = classificationReport(val.labels, argmaxRows(probs, numClasses), classes);
    const valLoss = val.labels.reduce((a, l, i) => a - Math.log(Math.max(probs[i * numClasses + l]!, 1e-12)), 0) / Math.max(1, val.labels.length);
    const record: EpochRecord = {
      epoch: epoch + 1,
      trainLoss: lossSum / stepsPerEpoch,
      valLoss,
      valF1: report.macroF1,
      valAccuracy: report.accuracy,
      lr: optimizer.lr,
      seconds: (Date.now() - epochStart) / 1000,
      trainImagesPerSec: trainRate,
      numTensors: tf.memory().numTensors,
    };
    progress.endEpoch(report.macroF1.toFixed(4));
    state.history.push(record);
    if (cfg.scheduler === 'plateau') optimizer.lr = plateau.step(report.macroF1, optimizer.lr);
    state.stoppedEarly = early.update(report.macroF1);
    state.plateau = plateau.state();
    state.early = early.state();
    state.epochsDone = epoch + 1;
    if (epoch === 0 && budgetMs > 0) {
      // Fit the cosine schedule to the time budget: as many whole epochs as the first one says will fit.
      state.plannedEpochs = Math.max(1, Math.min(cfg.epochs, Math.floor(budgetMs / (Date.now() - epochStart))));
    }
    if (report.macroF1 > state.bestF1) {
      state.bestF1 = report.macroF1;
      state.bestEpoch = epoch + 1;
      await saveCheckpoint(paths.best, model, meta(state));
    }
    await saveCheckpoint(paths.last, model, meta(state), optimizer.stateTensors());
    await writeMetricsFiles(runDir, state.history);
    epochsThisCall++;
  }
  optimizer.dispose();
  return { history: state.history, bestF1: state.bestF1, bestEpoch: state.bestEpoch, stoppedEarly: state.stoppedEarly, interrupted };
}
