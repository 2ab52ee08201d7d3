import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { argmaxRows, classificationReport } from '../eval/metrics.js';
import { setDropoutStream } from '../models/layers/seeded-dropout.js';
import { checkpointPaths, loadWeightsInto, readCheckpoint, saveCheckpoint, type CheckpointMeta } from '../runs/checkpoint.js';
import { Rng, deriveSeed } from '../util/random.js';
import { AdamW } from './adamw.js';
import { planTotalSteps, steadyStepSeconds } from './budget.js';
import type { TrainConfig } from './config.js';
import { writeMetricsFiles, type EpochRecord } from './metrics-log.js';
import { TrainProgress } from './progress.js';
import { EarlyStopping, LrSchedule } from './schedulers.js';
import { softCrossEntropy } from './soft-cross-entropy.js';
import type { Batch, TrainTask } from './task.js';
import { usesWeightDecay } from '../models/weight-decay.js';

export interface EngineOptions {
  task: TrainTask;
  cfg: TrainConfig;
  classes: string[];
  valLabels: number[];
  runDir: string;
  /** What checkpoints record besides the task's meta and the engine state (model id, sizes, classes...). */
  meta: CheckpointMeta;
  /** When the job started (ms since epoch): the time budget counts decoding and caching too. */
  startedAt: number;
  /** Final predictions cost this many per-epoch validation passes (val + test images, TTA views). */
  finalPredictionPasses: number;
  quiet?: boolean;
  log?: (msg: string) => void;
  /** Stop (as if interrupted) after this many epochs of this call; used to test --resume. */
  interruptAfter?: number;
}

export interface EngineState {
  epochsDone: number;
  stepsDone: number;
  /** Steps the schedule plans for: epochs x steps per epoch, or what the time budget allows. */
  plannedSteps: number;
  history: EpochRecord[];
  plateau: { best: number; badEpochs: number };
  early: { best: number; wait: number };
  bestF1: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  task?: unknown;
}

export interface EngineResult {
  history: EpochRecord[];
  bestF1: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  interrupted: boolean;
  plannedSteps: number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The training loop of every recipe: AdamW with per-parameter lr multipliers, gradient accumulation, the lr
 * schedule, validation macro F1 after every epoch, early stopping, the time budget, progress, metrics files and
 * atomic best/last checkpoints (resumable).
 */
export async function runEngine(o: EngineOptions): Promise<EngineResult> {
  const { task, cfg, runDir } = o;
  const log = o.log ?? (() => {});
  const numClasses = o.classes.length;
  const weights = task.model.trainableWeights;
  const vars = weights.map((w) => w.read() as tf.Variable);
  const decayMask = weights.map((w, i) => task.paramGroups[i]!.decay && usesWeightDecay(w.originalName, w.shape.length));
  const optimizer = new AdamW(vars, { lr: cfg.lr, weightDecay: cfg.weightDecay, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, task.paramGroups.map((g) => g.lrMultiplier), decayMask);
  const schedule = new LrSchedule(cfg);
  const early = new EarlyStopping(cfg.earlyStopPatience, cfg.earlyStopMinDelta);
  const paths = checkpointPaths(runDir);
  let state: EngineState = { epochsDone: 0, stepsDone: 0, plannedSteps: 0, history: [], plateau: schedule.plateau.state(), early: early.state(), bestF1: -1, bestEpoch: -1, stoppedEarly: false };
  if (cfg.resume && fs.existsSync(paths.last)) {
    const ckpt = readCheckpoint(paths.last);
    loadWeightsInto(task.model, ckpt, paths.last);
    const opt = ckpt.meta.optimizer as { step: number; lr: number };
    optimizer.loadState(opt.step, opt.lr, ckpt.extra);
    ckpt.extra.forEach((t) => t.dispose());
    state = ckpt.meta.state as EngineState;
    schedule.plateau.loadState(state.plateau);
    early.loadState(state.early);
    if (state.task !== undefined) task.loadState?.(state.task);
    log(`resumed from ${paths.last} after epoch ${state.epochsDone}`);
  }
  const meta = (): CheckpointMeta => ({ ...o.meta, ...task.meta, optimizer: { step: optimizer.step, lr: optimizer.lr }, state: { ...state, task: task.state?.() } });
  const budgetS = cfg.timeBudgetMin * 60;
  // A resumed run has already spent its earlier epochs' time.
  const startedAt = o.startedAt - state.history.reduce((a, h) => a + h.seconds, 0) * 1000;
  const progress = new TrainProgress('epoch', !o.quiet);
  const stepDurations: number[] = [];
  let valSeconds = NaN;
  let epochsThisCall = 0;
  let interrupted = false;
  let accum: tf.Tensor[] | null = null;
  let micro = 0;

  const replan = (stepsPerEpoch: number, maxSteps: number, valS: number): number => {
    const stepS = steadyStepSeconds(stepDurations);
    const remaining = budgetS - (Date.now() - startedAt) / 1000 - valS * o.finalPredictionPasses;
    return planTotalSteps({ stepsDone: state.stepsDone, stepsPerEpoch, maxSteps, stepSeconds: stepS, valSeconds: valS, remainingSeconds: remaining });
  };

  while (!state.stoppedEarly) {
    if (o.interruptAfter !== undefined && epochsThisCall >= o.interruptAfter) {
      interrupted = true;
      break;
    }
    const epoch = state.epochsDone;
    if (epoch >= cfg.epochs) break;
    const note = await task.beforeEpoch?.(epoch, cfg.epochs);
    if (note) log(note);
    const n = task.numSamples();
    const batchSize = Math.min(cfg.batchSize, n);
    // The last batch is kept unless it holds a single image (batch norm needs two).
    const stepsPerEpoch = n % batchSize === 1 && n > 1 ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
    const maxSteps = state.stepsDone + (cfg.epochs - epoch) * stepsPerEpoch;
    if (budgetS <= 0) state.plannedSteps = maxSteps;
    else if (stepDurations.length > 0 && Number.isFinite(valSeconds)) state.plannedSteps = replan(stepsPerEpoch, maxSteps, valSeconds);
    else state.plannedSteps = Math.min(maxSteps, Math.max(state.plannedSteps, state.stepsDone + stepsPerEpoch));
    if (state.stepsDone >= state.plannedSteps) break;
    const warmupSteps = Math.round(cfg.warmupEpochs * stepsPerEpoch);
    const rng = new Rng(deriveSeed(cfg.seed, epoch));
    setDropoutStream(deriveSeed(cfg.seed ^ 0x5eed, epoch));
    const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    const lastF1 = state.history.at(-1)?.valF1.toFixed(4) ?? '-';
    const epochsPlanned = (state.plannedSteps / stepsPerEpoch).toFixed(state.plannedSteps % stepsPerEpoch ? 1 : 0);
    const stepsThisEpoch = Math.min(stepsPerEpoch, state.plannedSteps - state.stepsDone);
    progress.startEpoch(`${epoch + 1}/${epochsPlanned}`, stepsThisEpoch, lastF1);
    const epochStart = Date.now();
    const load = (s: number) => task.batch(order.slice(s * batchSize, s === stepsPerEpoch - 1 ? n : (s + 1) * batchSize), rng);
    let next: Promise<Batch> | undefined = load(0);
    let lossSum = 0;
    let images = 0;
    let s = 0;
    for (; s < stepsThisEpoch && state.stepsDone < state.plannedSteps; s++) {
      const t0 = Date.now();
      const b = await next!;
      next = s + 1 < stepsThisEpoch ? load(s + 1) : undefined; // the next batch is assembled while this one trains
      optimizer.lr = schedule.atStep(state.stepsDone, state.plannedSteps, warmupSteps, optimizer.lr);
      const ys = tf.tensor2d(b.y, [b.rows, numClasses]);
      const { value, grads } = tf.variableGrads(() => {
        const logits = task.model.apply(b.x, { training: true }) as tf.Tensor2D;
        return task.loss ? task.loss(logits, ys) : softCrossEntropy(ys, logits);
      }, vars);
      tf.dispose([b.x, ys]);
      const gradList = vars.map((v) => grads[v.name]!);
      if (accum === null) accum = gradList;
      else {
        const prev: tf.Tensor[] = accum;
        accum = prev.map((a, i) => tf.add(a, gradList[i]!));
        tf.dispose([...prev, ...gradList]);
      }
      micro++;
      state.stepsDone++;
      if (micro === cfg.accumulate || s === stepsThisEpoch - 1 || state.stepsDone >= state.plannedSteps) {
        const scaled = micro === 1 ? accum : accum.map((g) => tf.div(g, micro));
        optimizer.apply(scaled);
        if (scaled !== accum) tf.dispose(scaled);
        tf.dispose(accum);
        accum = null;
        micro = 0;
      }
      lossSum += (await value.data())[0]!;
      value.dispose();
      images += b.rows;
      progress.step(b.rows, lossSum / (s + 1), optimizer.lr);
      stepDurations.push((Date.now() - t0) / 1000);
      // First plan of a budgeted run, early in its first epoch: validation estimated at a third of a training step per image.
      if (budgetS > 0 && !Number.isFinite(valSeconds) && s === Math.min(20, Math.floor(stepsThisEpoch / 2))) {
        const estVal = (steadyStepSeconds(stepDurations) / batchSize / 3) * o.valLabels.length;
        state.plannedSteps = replan(stepsPerEpoch, maxSteps, estVal);
        log(`time budget ${cfg.timeBudgetMin} min: planning ${(state.plannedSteps / stepsPerEpoch).toFixed(1)} epochs (${steadyStepSeconds(stepDurations).toFixed(2)} s per step)`);
      }
      await yieldToEventLoop(); // lets the progress bar's timer and signal handlers run between steps
    }
    if (next) (await next).x.dispose(); // prefetched for a step the time budget cut
    const trainSeconds = (Date.now() - epochStart) / 1000;
    const v0 = Date.now();
    const probs = await task.predict('val', false);
    valSeconds = (Date.now() - v0) / 1000;
    const report = classificationReport(o.valLabels, argmaxRows(probs, numClasses), o.classes);
    const valLoss = o.valLabels.reduce((a, l, i) => a - Math.log(Math.max(probs[i * numClasses + l]!, 1e-12)), 0) / Math.max(1, o.valLabels.length);
    const record: EpochRecord = {
      epoch: epoch + 1,
      steps: state.stepsDone,
      trainLoss: lossSum / s,
      valLoss,
      valF1: report.macroF1,
      valAccuracy: report.accuracy,
      lr: optimizer.lr,
      seconds: (Date.now() - epochStart) / 1000,
      trainImagesPerSec: images / trainSeconds,
      numTensors: tf.memory().numTensors,
    };
    progress.endEpoch(report.macroF1.toFixed(4));
    log(`epoch ${epoch + 1}: loss ${record.trainLoss.toFixed(4)} val macro F1 ${report.macroF1.toFixed(4)} (${record.seconds.toFixed(0)} s, ${record.trainImagesPerSec.toFixed(1)} img/s)`);
    state.history.push(record);
    optimizer.lr = schedule.afterEpoch(report.macroF1, optimizer.lr);
    state.stoppedEarly = early.update(report.macroF1);
    state.plateau = schedule.plateau.state();
    state.early = early.state();
    state.epochsDone = epoch + 1;
    if (report.macroF1 > state.bestF1) {
      state.bestF1 = report.macroF1;
      state.bestEpoch = epoch + 1;
      await saveCheckpoint(paths.best, task.model, meta());
    }
    await saveCheckpoint(paths.last, task.model, meta(), optimizer.stateTensors());
    await writeMetricsFiles(runDir, state.history);
    epochsThisCall++;
  }
  if (accum) tf.dispose(accum);
  optimizer.dispose();
  return { history: state.history, bestF1: state.bestF1, bestEpoch: state.bestEpoch, stoppedEarly: state.stoppedEarly, interrupted, plannedSteps: state.plannedSteps };
}
