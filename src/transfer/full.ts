/**
 * Full fine-tuning: every backbone layer plus a new head, end to end on decoded images (views sampled per step:
 * 64px or 256px source, random flip). Slow on CPU/wasm; resumable: one checkpoint per epoch (weights + Adam
 * state + epoch), and a later call with the same checkpoint folder continues after the last finished epoch.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { colorJitter } from '../augment/color-jitter.js';
import { cutmixBatch } from '../augment/cutmix.js';
import { randomCropBox } from '../augment/pipeline.js';
import { sampleCrop, sampleFull } from '../augment/sample-image.js';
import { argmaxRows, classificationReport } from '../eval/metrics.js';
import { loadWeightsInto, readCheckpoint, saveCheckpoint } from '../train/checkpoint.js';
import { TrainProgress } from '../train/progress.js';
import { Rng } from '../util/random.js';
import { type CacheOptions, loadPretrained } from '../weights/index.js';
import { buildMobileNetV2, mobilenetv2Configs } from '../models/mobilenetv2.js';
import type { FloatGraph } from '../weights/tflite-graph.js';
import { decodeView, type FeatureImage, viewBatch, type ViewSpec } from './features.js';
import { softVote } from './head.js';
import { type PseudoLabel, selectPseudoLabels } from './pseudo-label.js';
import { UserError } from '../util/errors.js';
import { DEFAULT_EVAL_VIEWS, type RecipeResult, type TransferSplit } from './recipes.js';

export interface FullOptions {
  backbone: string;
  /** Folder for the per-epoch checkpoint (`last.ckpt`) and `state.json`. */
  checkpointDir: string;
  inputSize?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Learning-rate multiplier for the pretrained layers (default 0.1). */
  backboneLrScale?: number;
  labelSmoothing?: number;
  /** Probability of CutMix (soft labels) per training batch (default 0), with Beta(alpha, alpha) box areas. */
  cutmix?: number;
  cutmixAlpha?: number;
  /**
   * Input resolution for validation/test predictions (default: inputSize); the network is fully convolutional, so
   * a model trained at 128 can predict at 160 (FixRes). On birds25 the effect was within validation noise.
   */
  evalInputSize?: number;
  /**
   * Pseudo-labelling (semi-supervised): after `afterEpoch` epochs, predict the unlabelled test images and add those
   * predicted with probability >= `threshold` to the training set (hard labels) for the remaining epochs. The
   * validation split is never pseudo-labelled, so validation F1 stays an honest estimate.
   */
  pseudoLabel?: { afterEpoch: number; threshold: number };
  /** Sources sampled for training views (default both: 64px and 256px). */
  trainSources?: ('lr' | 'hr')[];
  /**
   * Cross-resolution distillation: every training image enters a batch twice, as its 64px view and as its 256px copy
   * (same flip); besides both views' cross-entropy, the 64px prediction is pulled toward the 256px one (KL divergence
   * at `temperature`, times `weight` * temperature^2; no gradient flows into the 256px side through this term). Test
   * images are 64px only, so the model learns to answer from a 64px view what it sees in the 256px copy. An epoch then
   * costs two views per image (trainSources is ignored). Not combinable with CutMix.
   */
  crossResolution?: { weight: number; temperature: number };
  /**
   * Random-resized crop (area range `cropScale`) and colour jitter of every training view, on top of the random flip
   * (default: none). In cross-resolution batches both views of an image get the same crop and jitter.
   */
  augment?: TrainAugment;
  evalViews?: ViewSpec[];
  /** Stop after this many epochs in this call (to split a long run over several calls); the run stays resumable. */
  maxEpochsThisCall?: number;
  /** Plan only as many epochs as fit in this many minutes (decided after the first epoch; 0 = no limit). */
  timeBudgetMin?: number;
  /** Show a progress bar (ETA, images/s, loss, last val F1) on stderr. */
  progress?: boolean;
  seed?: number;
  weights?: CacheOptions;
  log?: (msg: string) => void;
  name?: string;
}

export interface TrainAugment {
  cropScale: [number, number];
  brightness: number;
  contrast: number;
  saturation: number;
}

/** Like trainingBatch, with a random-resized crop and colour jitter per row drawn from Rng(seeds[i]). */
function augmentedBatch(pixels: Uint8Array[], flips: boolean[], seeds: number[], size: number, aug: TrainAugment): Float32Array {
  const plane = size * size;
  const out = new Float32Array(pixels.length * plane * 3);
  pixels.forEach((p, i) => {
    const rng = new Rng(seeds[i]!);
    const box = randomCropBox(size, aug.cropScale, rng);
    if (box) sampleCrop(p, size, box, out, i * plane * 3, size, flips[i]!);
    else sampleFull(p, size, out, i * plane * 3, size, flips[i]!);
    if (aug.brightness || aug.contrast || aug.saturation) colorJitter(out, i * plane * 3, plane, aug, rng);
  });
  return out;
}

/** Decoded uint8 views -> float32 NHWC batch in [0, 1], horizontally flipped where asked. */
function trainingBatch(pixels: Uint8Array[], flips: boolean[], size: number): Float32Array {
  const row = size * 3;
  const out = new Float32Array(pixels.length * size * row);
  pixels.forEach((p, i) => {
    const o = i * size * row;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const src = y * row + (flips[i] ? size - 1 - x : x) * 3;
        const dst = o + y * row + x * 3;
        out[dst] = p[src]! / 255;
        out[dst + 1] = p[src + 1]! / 255;
        out[dst + 2] = p[src + 2]! / 255;
      }
    }
  });
  return out;
}

/** Identity whose gradient is zero: the teacher side of a distillation term. */
const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

/**
 * Mean KL(teacher || student) over a batch whose first half are students (64px views) and second half teachers
 * (256px copies of the same images), both as logits softened by `temperature`.
 */
export function crossResolutionLoss(logits: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = logits.shape[0] / 2;
    const c = logits.shape[1];
    const student = tf.logSoftmax(tf.div(tf.slice(logits, [0, 0], [n, c]), temperature));
    const teacherLog = stopGradient(tf.logSoftmax(tf.div(tf.slice(logits, [n, 0], [n, c]), temperature)));
    return tf.mean(tf.sum(tf.mul(tf.exp(teacherLog), tf.sub(teacherLog, student)), 1)) as tf.Scalar;
  });
}

/** Checkpoint `model` field of a full fine-tune: this prefix + the backbone id. */
export const TRANSFER_FULL_PREFIX = 'transfer-full:';

/** The whole MobileNetV2 classifier (src/models/mobilenetv2.ts); kept until the transfer recipes fold into the engine. */
export function buildFineTuneModel(graph: FloatGraph, numClasses: number, inputSize: number): tfl.LayersModel {
  return buildMobileNetV2(mobilenetv2Configs['mobilenetv2-inat-birds'], { numClasses, inputSize, graph });
}

interface FullState {
  epochsDone: number;
  step: number;
  backbone: string;
  inputSize: number;
  numClasses: number;
  optimizerWeightNames: { head: string[]; body: string[] };
  /** Epochs the cosine schedule plans for (fewer than `epochs` when a time budget says so). */
  plannedEpochs?: number;
  history: { epoch: number; loss: number; seconds: number; valMacroF1?: number }[];
  /** Test images added as pseudo-labelled training samples: test index and predicted class. */
  pseudo?: PseudoLabel[];
}

/** Runs (or resumes) full fine-tuning; returns the validation/test predictions once all epochs are done. */
export async function runFull(split: TransferSplit, opts: FullOptions): Promise<RecipeResult & { epochsDone: number; complete: boolean }> {
  const log = opts.log ?? (() => {});
  const res = opts.inputSize ?? 128;
  const epochs = opts.epochs ?? 3;
  const bs = opts.batchSize ?? 32;
  const lr0 = opts.learningRate ?? 1e-3;
  const lrScale = opts.backboneLrScale ?? 0.1;
  const ls = opts.labelSmoothing ?? 0.1;
  const cutmix = opts.cutmix ?? 0;
  const sources = opts.trainSources ?? ['lr', 'hr'];
  const xres = opts.crossResolution;
  if (xres && cutmix > 0) throw new UserError('cross-resolution distillation cannot be combined with CutMix (--cutmix)');
  if (xres && !(xres.weight >= 0 && xres.temperature > 0)) throw new UserError(`cross-resolution distillation: weight must be >= 0 and temperature > 0 (got ${xres.weight}, ${xres.temperature})`);
  if (xres && split.train.images.some((im) => !im.hr)) throw new UserError('cross-resolution distillation needs the 256px copy of every training image (upscale_img_path in train.csv)');
  /** Images per step: with cross-resolution distillation each image fills two rows of the batch. */
  const imagesPerStep = xres ? Math.max(1, Math.floor(bs / 2)) : bs;
  if (xres) log(`full: cross-resolution distillation: ${imagesPerStep} images per step, each as its 64px view and its 256px copy (KL weight ${xres.weight}, T ${xres.temperature})`);
  if (opts.augment) log(`full: random-resized crop ${opts.augment.cropScale.join('-')} of the area, colour jitter ${opts.augment.brightness}/${opts.augment.contrast}/${opts.augment.saturation}`);
  const evalViews = opts.evalViews ?? DEFAULT_EVAL_VIEWS;
  const numClasses = split.classes.length;
  const bb = await loadPretrained(opts.backbone, opts.weights);
  const model = buildFineTuneModel(bb.graph, numClasses, res);
  const headVars = model.getLayer('new_head').trainableWeights.map((w) => w.read() as tf.Variable);
  const bodyVars = model.trainableWeights.map((w) => w.read() as tf.Variable).filter((v) => !headVars.includes(v));
  const optHead = tf.train.adam(lr0);
  const optBody = tf.train.adam(lr0 * lrScale);
  fs.mkdirSync(opts.checkpointDir, { recursive: true });
  const ckptFile = path.join(opts.checkpointDir, 'last.ckpt');
  const stateFile = path.join(opts.checkpointDir, 'state.json');
  let state: FullState = { epochsDone: 0, step: 0, backbone: opts.backbone, inputSize: res, numClasses, optimizerWeightNames: { head: [], body: [] }, history: [] };
  if (fs.existsSync(stateFile) && fs.existsSync(ckptFile)) {
    const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as FullState;
    if (saved.backbone !== opts.backbone || saved.inputSize !== res || saved.numClasses !== numClasses) {
      throw new Error(`${opts.checkpointDir}: checkpoint is for ${saved.backbone} @${saved.inputSize} with ${saved.numClasses} classes, not ${opts.backbone} @${res} with ${numClasses}`);
    }
    const ck = readCheckpoint(ckptFile);
    if (ck.meta.epochsDone !== saved.epochsDone) throw new Error(`${opts.checkpointDir}: state.json (epoch ${saved.epochsDone}) and last.ckpt (epoch ${String(ck.meta.epochsDone)}) disagree`);
    loadWeightsInto(model, ck, ckptFile);
    const nh = saved.optimizerWeightNames.head.length;
    await optHead.setWeights(ck.extra.slice(0, nh).map((tensor, i) => ({ name: saved.optimizerWeightNames.head[i]!, tensor })));
    await optBody.setWeights(ck.extra.slice(nh).map((tensor, i) => ({ name: saved.optimizerWeightNames.body[i]!, tensor })));
    state = saved;
    log(`full: resumed from ${ckptFile} after epoch ${state.epochsDone}`);
  }
  const predictImages = async (images: FeatureImage[], views: ViewSpec[], size = res) => {
    // A model at another input size shares nothing but the weight values (copied; the layers are size-agnostic).
    let m = model;
    if (size !== res) {
      m = buildFineTuneModel(bb.graph, numClasses, size);
      m.setWeights(model.getWeights());
    }
    const perView: Float32Array[] = [];
    try {
      for (const v of views) {
        const out = new Float32Array(images.length * numClasses);
        for (let s = 0; s < images.length; s += 64) {
          const px = await Promise.all(images.slice(s, s + 64).map((im) => decodeView(im, v, size)));
          const x = viewBatch(px, size, v);
          const p = tf.tidy(() => tf.softmax(m.predict(x) as tf.Tensor2D));
          out.set((await p.data()) as Float32Array, s * numClasses);
          tf.dispose([x, p]);
        }
        perView.push(out);
      }
    } finally {
      if (m !== model) m.dispose();
    }
    return softVote(perView);
  };
  const evalRes = opts.evalInputSize ?? res;
  const nLabelled = split.train.labels.length;
  const pl = opts.pseudoLabel;
  if (pl && !split.test) throw new UserError('--pseudo-label: pseudo-labelling needs unlabelled test images (a test.csv in the data folder)');
  /** Training sample i: a labelled train image, or (i >= nLabelled) a pseudo-labelled test image. */
  const sampleImage = (i: number) => (i < nLabelled ? split.train.images[i]! : split.test!.images[state.pseudo![i - nLabelled]!.index]!);
  const sampleLabel = (i: number) => (i < nLabelled ? split.train.labels[i]! : state.pseudo![i - nLabelled]!.label);
  state.plannedEpochs ??= epochs;
  let epochsThisCall = 0;
  const tTrain0 = performance.now();
  const progress = new TrainProgress('full', opts.progress ?? false);
  let lastF1 = state.history.at(-1)?.valMacroF1?.toFixed(4) ?? '-';
  while (state.epochsDone < state.plannedEpochs && epochsThisCall < (opts.maxEpochsThisCall ?? Infinity)) {
    if (pl && !state.pseudo && state.epochsDone >= pl.afterEpoch) {
      const tp = performance.now();
      log(`full: pseudo-labelling: predicting ${split.test!.images.length} test images (${evalViews.length} views at ${evalRes}px)`);
      const pseudo = selectPseudoLabels(await predictImages(split.test!.images, evalViews, evalRes), numClasses, pl.threshold);
      state.pseudo = pseudo;
      const budgetS = (opts.timeBudgetMin ?? 0) * 60;
      if (budgetS > 0 && state.history.length > 0) {
        // Re-plan: epochs are now longer by the pseudo-labelled images.
        const spent = state.history.reduce((a, h) => a + h.seconds, 0);
        const perImage = spent / (state.history.length * nLabelled);
        const more = Math.max(0, Math.floor((budgetS - spent) / (perImage * (nLabelled + pseudo.length))));
        const fit = Math.max(state.epochsDone + 1, Math.min(state.plannedEpochs, state.epochsDone + more));
        if (fit !== state.plannedEpochs) log(`full: ${opts.timeBudgetMin} min budget: planning ${fit} epochs after pseudo-labelling`);
        state.plannedEpochs = fit;
      }
      log(`full: pseudo-labelled ${pseudo.length} of ${split.test!.images.length} test images (p >= ${pl.threshold}) in ${((performance.now() - tp) / 1000).toFixed(0)} s`);
    }
    const nTrain = nLabelled + (state.pseudo?.length ?? 0);
    const stepsPerEpoch = Math.ceil(nTrain / imagesPerStep);
    // Cosine schedule over the planned epochs; epochs after pseudo-labelling have more steps, so the schedule runs
    // on the fraction of epochs done plus the fraction of this epoch.
    const stepFraction = (k: number) => (state.epochsDone + k / stepsPerEpoch) / state.plannedEpochs!;
    const ep = state.epochsDone;
    const rng = new Rng((opts.seed ?? 11) * 1000 + ep); // per-epoch stream: a resumed epoch sees the same order
    const order = rng.shuffle(Array.from({ length: nTrain }, (_, i) => i));
    const t0 = performance.now();
    let lossSum = 0;
    let nb = 0;
    const load = async (s: number) => {
      const images = order.slice(s, s + imagesPerStep);
      // Pseudo-labelled test images have no 256px copy: always their 64px source.
      let views = images.map((i) => ({ source: i < nLabelled ? sources[rng.int(sources.length)]! : 'lr', flip: rng.next() < 0.5 }) as ViewSpec);
      let idx = images;
      let seeds = opts.augment ? images.map(() => rng.int(2 ** 31)) : [];
      if (xres) {
        seeds = [...seeds, ...seeds];
        // Rows 0..n-1: 64px views; rows n..2n-1: the same images' 256px copies (64px again for pseudo-labelled ones).
        const lr = images.map((_, k) => ({ source: 'lr', flip: views[k]!.flip }) as ViewSpec);
        const hr = images.map((i, k) => ({ source: i < nLabelled ? 'hr' : 'lr', flip: views[k]!.flip }) as ViewSpec);
        views = [...lr, ...hr];
        idx = [...images, ...images];
      }
      const px = await Promise.all(idx.map((i, k) => decodeView(sampleImage(i), views[k]!, res)));
      return { idx, views, px, seeds };
    };
    let next = load(0);
    progress.startEpoch(`${ep + 1}/${state.plannedEpochs}`, stepsPerEpoch, lastF1);
    for (let s = 0; s < nTrain; s += imagesPerStep) {
      const b = await next;
      if (s + imagesPerStep < nTrain) next = load(s + imagesPerStep);
      const f = 0.5 * (1 + Math.cos(Math.PI * stepFraction(nb)));
      (optHead as unknown as { learningRate: number }).learningRate = lr0 * f;
      (optBody as unknown as { learningRate: number }).learningRate = lr0 * lrScale * f;
      state.step++;
      const n = b.idx.length;
      const flips = b.views.map((v) => v.flip ?? false);
      const pixels = opts.augment ? augmentedBatch(b.px, flips, b.seeds, res, opts.augment) : trainingBatch(b.px, flips, res);
      const targets = new Float32Array(n * numClasses);
      b.idx.forEach((i, k) => (targets[k * numClasses + sampleLabel(i)] = 1));
      if (cutmix > 0 && rng.next() < cutmix) cutmixBatch(pixels, targets, n, res, numClasses, opts.cutmixAlpha ?? 1, rng);
      const x = tf.tensor4d(pixels, [n, res, res, 3]);
      const yb = tf.tensor2d(targets, [n, numClasses]);
      const { value, grads } = tf.variableGrads(() => {
        const out = model.apply(x, { training: true }) as tf.Tensor2D;
        const ce = tf.losses.softmaxCrossEntropy(yb, out, undefined, ls) as tf.Scalar;
        return xres ? tf.add(ce, tf.mul(crossResolutionLoss(out, xres.temperature), xres.weight * xres.temperature ** 2)) as tf.Scalar : ce;
      }, headVars.concat(bodyVars));
      optHead.applyGradients(headVars.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
      optBody.applyGradients(bodyVars.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
      lossSum += (await value.data())[0]!;
      tf.dispose([value, x, yb, ...Object.values(grads)]);
      nb++;
      progress.step(b.idx.length, lossSum / nb, lr0 * f);
      if (!opts.progress && nb % 50 === 0) log(`  full ${opts.backbone} epoch ${ep + 1}/${state.plannedEpochs} step ${nb}/${stepsPerEpoch} loss ${(lossSum / nb).toFixed(4)}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    // Validation F1 on the plain 64px view after every epoch (cheap next to an epoch of training; the learning curve).
    const valF1 = classificationReport(split.val.labels, argmaxRows(await predictImages(split.val.images, [{ source: 'lr' }]), numClasses), split.classes).macroF1;
    lastF1 = valF1.toFixed(4);
    progress.endEpoch(lastF1);
    state.epochsDone++;
    epochsThisCall++;
    state.history.push({ epoch: state.epochsDone, loss: lossSum / nb, seconds, valMacroF1: valF1 });
    const budgetMs = (opts.timeBudgetMin ?? 0) * 60_000;
    if (budgetMs > 0 && state.epochsDone === 1) {
      const fit = Math.max(1, Math.min(epochs, Math.floor(budgetMs / (seconds * 1000))));
      if (fit !== state.plannedEpochs) log(`full: ${opts.timeBudgetMin} min budget: planning ${fit} epochs (${seconds.toFixed(0)} s per epoch)`);
      state.plannedEpochs = fit;
    }
    const hw = await optHead.getWeights();
    const bw = await optBody.getWeights();
    state.optimizerWeightNames = { head: hw.map((w) => w.name), body: bw.map((w) => w.name) };
    await saveCheckpoint(ckptFile, model, { model: `${TRANSFER_FULL_PREFIX}${opts.backbone}`, numClasses, inputSize: res, evalInputSize: evalRes, classes: split.classes, epochsDone: state.epochsDone }, [...hw, ...bw].map((w) => w.tensor));
    fs.writeFileSync(stateFile + '.tmp', JSON.stringify(state, null, 1));
    fs.renameSync(stateFile + '.tmp', stateFile);
    log(`full: epoch ${state.epochsDone}/${state.plannedEpochs} loss ${(lossSum / nb).toFixed(4)} val macro F1 (lr) ${lastF1} (${seconds.toFixed(0)} s); checkpoint ${ckptFile}`);
  }
  const trainingS = (performance.now() - tTrain0) / 1000;
  const complete = state.epochsDone >= state.plannedEpochs;
  const tp = performance.now();
  const valProbs = await predictImages(split.val.images, evalViews, evalRes);
  const testProbs = split.test ? await predictImages(split.test.images, evalViews, evalRes) : undefined;
  const predictionS = (performance.now() - tp) / 1000;
  optHead.dispose();
  optBody.dispose();
  model.dispose();
  const rep = classificationReport(split.val.labels, argmaxRows(valProbs, numClasses), split.classes);
  return {
    name: opts.name ?? `full ${opts.backbone} @${res}`,
    valProbs,
    testProbs,
    valMacroF1: rep.macroF1,
    valAccuracy: rep.accuracy,
    timings: { embeddingS: 0, trainingS, predictionS },
    featuresComputed: 0,
    featuresCached: 0,
    epochsDone: state.epochsDone,
    complete,
  };
}
