/**
 * Transfer-learning recipes on DACON-format data:
 *   probe   - frozen backbone(s), cached embeddings of several views, softmax-regression / MLP head;
 *   partial - fine-tune the last K backbone blocks on cached activations of the block below them;
 *   full    - fine-tune everything end to end (see full.ts; checkpoint per epoch, resumable).
 * Evaluation views (TTA) are soft-voted; several recipes can be soft-voted into an ensemble.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadDaconLabelled, loadDaconTest } from '../data/dacon.js';
import { labelsOf, type Dataset } from '../data/dataset.js';
import { stratifiedSplit } from '../data/split.js';
import { argmaxRows, classificationReport } from '../eval/metrics.js';
import { saveCheckpoint } from '../train/checkpoint.js';
import { type CacheOptions, loadPretrained } from '../weights/index.js';
import { backboneBlocks, type CutPoint, type FloatGraph } from '../weights/tflite-graph.js';
import { buildLayersModel } from '../weights/tflite-layers.js';
import { computeFeatures, type FeatureImage, viewKey, type ViewSpec } from './features.js';
import { Head, type HeadOptions, softVote, trainHead } from './head.js';

export interface TransferSplit {
  classes: string[];
  train: { images: FeatureImage[]; labels: number[] };
  val: { images: FeatureImage[]; labels: number[]; ids: string[] };
  test?: { images: FeatureImage[]; ids: string[] };
}

function toImages(ds: Dataset): FeatureImage[] {
  return ds.samples.map((s) => ({ lr: s.path, hr: s.upscalePath }));
}

/**
 * Loads a DACON folder (train.csv [+ test.csv]) and makes a seeded stratified validation split of train.csv
 * (the test split is never used for tuning).
 */
export function loadTransferSplit(dataDir: string, opts: { valFraction?: number; seed?: number; withTest?: boolean; limit?: number } = {}): TransferSplit {
  const ds = loadDaconLabelled(dataDir);
  let labels = labelsOf(ds);
  let samples = ds.samples;
  if (opts.limit && opts.limit < samples.length) {
    const keep = stratifiedSplit(labels, opts.limit / samples.length, (opts.seed ?? 42) + 1).val;
    samples = keep.map((i) => samples[i]!);
    labels = keep.map((i) => labels[i]!);
  }
  const { train, val } = stratifiedSplit(labels, opts.valFraction ?? 0.1, opts.seed ?? 42);
  const imgs = toImages({ ...ds, samples });
  const out: TransferSplit = {
    classes: ds.classes,
    train: { images: train.map((i) => imgs[i]!), labels: train.map((i) => labels[i]!) },
    val: { images: val.map((i) => imgs[i]!), labels: val.map((i) => labels[i]!), ids: val.map((i) => samples[i]!.id) },
  };
  const testCsv = path.join(dataDir, 'test.csv');
  if ((opts.withTest ?? true) && fs.existsSync(testCsv)) {
    const t = loadDaconTest(dataDir, ds.classes);
    out.test = { images: toImages(t), ids: t.samples.map((s) => s.id) };
  }
  return out;
}

export interface Timings {
  embeddingS: number;
  trainingS: number;
  predictionS: number;
}

export interface RecipeResult {
  name: string;
  valProbs: Float32Array;
  testProbs?: Float32Array;
  valMacroF1: number;
  valAccuracy: number;
  timings: Timings;
  /** Feature rows computed vs read from the cache during this run. */
  featuresComputed: number;
  featuresCached: number;
}

export interface ProbeOptions {
  /** One backbone, or several whose embeddings are concatenated. */
  backbones: string[];
  inputSize?: number;
  trainViews?: ViewSpec[];
  /** Test-time views (soft-voted); 64px sources only, since test images have no 256px copy. */
  evalViews?: ViewSpec[];
  head?: HeadOptions;
  cacheRoot?: string;
  weights?: CacheOptions;
  /** Also cache these block outputs from the same forward passes (e.g. for a later partial fine-tune). */
  alsoCache?: CutPoint[];
  log?: (msg: string) => void;
  name?: string;
}

export const DEFAULT_TRAIN_VIEWS: ViewSpec[] = [{ source: 'lr' }, { source: 'lr', flip: true }, { source: 'hr' }, { source: 'hr', flip: true }];
export const DEFAULT_EVAL_VIEWS: ViewSpec[] = [{ source: 'lr' }, { source: 'lr', flip: true }];

/** Features of every train view, and of every eval view for val and test, in that order (one feature set per view). */
async function embedSplitViews<F>(
  split: TransferSplit,
  trainViews: ViewSpec[],
  evalViews: ViewSpec[],
  feats: (images: FeatureImage[], view: ViewSpec, what: string) => Promise<F>,
): Promise<{ train: F[]; val: F[]; test: F[] }> {
  const train: F[] = [];
  for (const v of trainViews) train.push(await feats(split.train.images, v, 'train'));
  const val: F[] = [];
  for (const v of evalViews) val.push(await feats(split.val.images, v, 'val'));
  const test: F[] = [];
  if (split.test) for (const v of evalViews) test.push(await feats(split.test.images, v, 'test'));
  return { train, val, test };
}

async function seconds<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
}

function concatRows(parts: { features: Float32Array; dim: number }[], n: number): { features: Float32Array; dim: number } {
  if (parts.length === 1) return parts[0]!;
  const dim = parts.reduce((a, p) => a + p.dim, 0);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let o = i * dim;
    for (const p of parts) {
      out.set(p.features.subarray(i * p.dim, (i + 1) * p.dim), o);
      o += p.dim;
    }
  }
  return { features: out, dim };
}

/** Linear probe / MLP head on frozen embeddings (one backbone or a concatenation). */
export async function runProbe(split: TransferSplit, opts: ProbeOptions): Promise<RecipeResult & { head: Head }> {
  const log = opts.log ?? (() => {});
  const res = opts.inputSize ?? 224;
  const trainViews = opts.trainViews ?? DEFAULT_TRAIN_VIEWS;
  const evalViews = opts.evalViews ?? DEFAULT_EVAL_VIEWS;
  if (evalViews.some((v) => v.source !== 'lr')) throw new Error('evaluation views must use the 64px image (test images have no 256px copy)');
  const bbs = await Promise.all(opts.backbones.map((id) => loadPretrained(id, opts.weights)));
  let computed = 0;
  let cached = 0;
  const feats = async (images: FeatureImage[], view: ViewSpec, what: string) => {
    const parts = [];
    for (const bb of bbs) {
      const r = await computeFeatures(images, view, {
        backboneId: bb.id,
        graph: bb.graph,
        inputSize: res,
        cacheRoot: opts.cacheRoot,
        alsoCache: opts.alsoCache,
        onProgress: (d, t) => {
          if (d === t || d % 1024 < 32) log(`  ${bb.id} ${what} ${viewKey(view)}@${res}: ${d}/${t}`);
        },
      });
      computed += r.computed;
      cached += r.cached;
      parts.push(r);
    }
    return concatRows(parts, images.length);
  };
  // Stage 1: embeddings.
  const [emb, embeddingS] = await seconds(() => embedSplitViews(split, trainViews, evalViews, feats));
  const dim = emb.train[0]!.dim;
  // Stage 2: head.
  const nTrain = split.train.labels.length;
  const X = new Float32Array(nTrain * trainViews.length * dim);
  const Y: number[] = [];
  emb.train.forEach((f, k) => {
    X.set(f.features, k * nTrain * dim);
    Y.push(...split.train.labels);
  });
  const headOpts: HeadOptions = { kind: 'linear', epochs: 30, batchSize: 256, learningRate: 1e-3, weightDecay: 1e-3, labelSmoothing: 0.1, ...opts.head };
  const [head, trainingS] = await seconds(() => trainHead(X, Y, dim, split.classes.length, headOpts));
  // Stage 3: prediction with TTA.
  const [pred, predictionS] = await seconds(async () => ({
    val: softVote(emb.val.map((f) => head.predict(f.features))),
    test: emb.test.length ? softVote(emb.test.map((f) => head.predict(f.features))) : undefined,
  }));
  const rep = classificationReport(split.val.labels, argmaxRows(pred.val, split.classes.length), split.classes);
  return {
    name: opts.name ?? `probe ${opts.backbones.join('+')} @${res}`,
    head,
    valProbs: pred.val,
    testProbs: pred.test,
    valMacroF1: rep.macroF1,
    valAccuracy: rep.accuracy,
    timings: { embeddingS, trainingS, predictionS },
    featuresComputed: computed,
    featuresCached: cached,
  };
}

/** Puts the trained tail (blocks above the cut + new head) on top of the frozen pretrained blocks and saves the whole. */
async function saveWholeNetwork(dir: string, tail: tfl.LayersModel, bb: { id: string; graph: FloatGraph }, meta: { numClasses: number; inputSize: number; classes: string[]; epochs: number; blocks: number }): Promise<void> {
  // full.ts imports this module: loaded on use, not at module evaluation.
  const { buildFineTuneModel, TRANSFER_FULL_PREFIX } = await import('./full.js');
  const whole = buildFineTuneModel(bb.graph, meta.numClasses, meta.inputSize);
  const trained = new Map(tail.weights.map((w) => [w.originalName, w]));
  let copied = 0;
  for (const w of whole.weights) {
    const src = trained.get(w.originalName);
    if (!src) continue;
    if (src.shape.join('x') !== w.shape.join('x')) throw new Error(`partial: ${w.originalName} is ${src.shape.join('x')} in the trained blocks, ${w.shape.join('x')} in the whole network`);
    w.write(src.read());
    copied++;
  }
  if (copied !== trained.size) throw new Error(`partial: ${trained.size - copied} trained weights have no counterpart in the whole network`);
  fs.mkdirSync(dir, { recursive: true });
  await saveCheckpoint(path.join(dir, 'last.ckpt'), whole, { model: `${TRANSFER_FULL_PREFIX}${bb.id}`, numClasses: meta.numClasses, inputSize: meta.inputSize, evalInputSize: meta.inputSize, classes: meta.classes, epochsDone: meta.epochs, recipe: `partial, last ${meta.blocks} blocks` });
  whole.dispose();
}

export interface PartialOptions {
  backbone: string;
  /** Number of last backbone blocks to fine-tune (1 = Conv_1 only, 2 = expanded_conv_16 + Conv_1, ...). */
  blocks: number;
  /** Input resolution (default 128). */
  inputSize?: number;
  /** Training views; each epoch passes over every view of every image (default lr, hr and their flips). */
  trainViews?: ViewSpec[];
  evalViews?: ViewSpec[];
  /** Epochs (default 1), images per step (default 32), new-head learning rate (default 1e-3; cosine to 0). */
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Learning-rate multiplier for the pretrained blocks relative to the new head (default 0.1). */
  backboneLrScale?: number;
  weightDecay?: number;
  labelSmoothing?: number;
  seed?: number;
  cacheRoot?: string;
  weights?: CacheOptions;
  log?: (msg: string) => void;
  name?: string;
  /** Writes `last.ckpt` here: the whole network (frozen blocks, trained blocks, new head) as a full-recipe checkpoint,
   * so `plumage predict --run` and ensembles load it like a full fine-tune. */
  checkpointDir?: string;
}

/** Fine-tunes the last K blocks plus a new head, on cached activations of the block below them. */
export async function runPartial(split: TransferSplit, opts: PartialOptions): Promise<RecipeResult> {
  const log = opts.log ?? (() => {});
  const res = opts.inputSize ?? 128;
  const trainViews = opts.trainViews ?? [{ source: 'lr' }, { source: 'hr' }, { source: 'lr', flip: true }, { source: 'hr', flip: true }];
  const evalViews = opts.evalViews ?? DEFAULT_EVAL_VIEWS;
  if (evalViews.some((v) => v.source !== 'lr')) throw new Error('evaluation views must use the 64px image');
  const bb = await loadPretrained(opts.backbone, opts.weights);
  const blocks = backboneBlocks(bb.graph);
  if (!(opts.blocks >= 1 && opts.blocks < blocks.length)) throw new Error(`partial: blocks must be in 1..${blocks.length - 1}`);
  const cut: CutPoint = { block: blocks[blocks.length - 1 - opts.blocks]! };
  let computed = 0;
  let cached = 0;
  const feats = async (images: FeatureImage[], view: ViewSpec, what: string) => {
    const r = await computeFeatures(images, view, {
      backboneId: bb.id,
      graph: bb.graph,
      inputSize: res,
      cut,
      cacheRoot: opts.cacheRoot,
      onProgress: (d, t) => {
        if (d === t || d % 1024 < 32) log(`  ${bb.id} ${what} ${viewKey(view)} ${(cut as { block: string }).block}@${res}: ${d}/${t}`);
      },
    });
    computed += r.computed;
    cached += r.cached;
    return r;
  };
  const [emb, embeddingS] = await seconds(() => embedSplitViews(split, trainViews, evalViews, feats));
  const shape = emb.train[0]!.shape;
  const dim = emb.train[0]!.dim;
  const numClasses = split.classes.length;
  // Tail model: pretrained blocks above the cut -> pooled embedding -> dropout -> new dense head.
  const input = tfl.input({ shape });
  const { applyGraph } = await import('../weights/tflite-layers.js');
  let y = applyGraph(bb.graph, input, { from: cut, to: 'embedding', trainable: true });
  y = tfl.layers.dropout({ rate: 0.2 }).apply(y) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: numClasses, name: 'new_head', kernelInitializer: 'zeros' }).apply(y) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: logits });
  const nTrain = split.train.labels.length;
  const N = nTrain * trainViews.length;
  const epochs = opts.epochs ?? 1;
  const bs = opts.batchSize ?? 32;
  const lr0 = opts.learningRate ?? 1e-3;
  const lrScale = opts.backboneLrScale ?? 0.1;
  const wd = opts.weightDecay ?? 1e-4;
  const ls = opts.labelSmoothing ?? 0.1;
  const headVars = model.getLayer('new_head').trainableWeights.map((w) => w.read() as tf.Variable);
  const bodyVars = model.trainableWeights.map((w) => w.read() as tf.Variable).filter((v) => !headVars.includes(v));
  const optHead = tf.train.adam(lr0);
  const optBody = tf.train.adam(lr0 * lrScale);
  const order = Array.from({ length: N }, (_, i) => i);
  const { Rng } = await import('../util/random.js');
  const rng = new Rng(opts.seed ?? 7);
  const xb = new Float32Array(bs * dim);
  const yb = new Int32Array(bs);
  const steps = Math.ceil(N / bs) * epochs;
  log(`partial: last ${opts.blocks} blocks of ${bb.id} trained on cached ${cut.block} activations @${res}: ${N} samples (${trainViews.length} views) per epoch, batch ${bs}, lr ${lr0} (pretrained blocks x${lrScale}), ${epochs} epochs`);
  let step = 0;
  const predictAll = (f: Float32Array) => {
    const n = f.length / dim;
    const out = new Float32Array(n * numClasses);
    for (let s = 0; s < n; s += 256) {
      const e = Math.min(n, s + 256);
      const p = tf.tidy(() => tf.softmax(model.predict(tf.tensor(f.subarray(s * dim, e * dim), [e - s, ...shape])) as tf.Tensor2D));
      out.set(p.dataSync() as Float32Array, s * numClasses);
      p.dispose();
    }
    return out;
  };
  const [, trainingS] = await seconds(async () => {
    for (let ep = 0; ep < epochs; ep++) {
      rng.shuffle(order);
      let lossSum = 0;
      let nb = 0;
      for (let s = 0; s < N; s += bs) {
        const m = Math.min(bs, N - s);
        for (let i = 0; i < m; i++) {
          const r = order[s + i]!;
          const view = Math.floor(r / nTrain);
          const idx = r % nTrain;
          xb.set(emb.train[view]!.features.subarray(idx * dim, (idx + 1) * dim), i * dim);
          yb[i] = split.train.labels[idx]!;
        }
        const f = 0.5 * (1 + Math.cos((Math.PI * step) / steps));
        (optHead as unknown as { learningRate: number }).learningRate = lr0 * f;
        (optBody as unknown as { learningRate: number }).learningRate = lr0 * lrScale * f;
        step++;
        const { value, grads } = tf.variableGrads(() => {
          const x = tf.tensor(xb.subarray(0, m * dim), [m, ...shape]);
          const out = model.apply(x, { training: true }) as tf.Tensor2D;
          const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(yb.subarray(0, m), 'int32'), numClasses), out, undefined, ls);
          // Weight decay on the new head only: decaying pretrained weights towards zero would undo the pretraining.
          const l2 = tf.addN(headVars.filter((v) => v.rank > 1).map((v) => tf.sum(tf.square(v))));
          return tf.add(ce, tf.mul(wd / 2, l2)) as tf.Scalar;
        }, headVars.concat(bodyVars));
        optHead.applyGradients(headVars.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
        optBody.applyGradients(bodyVars.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
        lossSum += (await value.data())[0]!;
        tf.dispose([value, ...Object.values(grads)]);
        nb++;
        if (nb % 100 === 0) log(`  partial ${bb.id} K=${opts.blocks} epoch ${ep + 1}/${epochs} step ${nb}/${Math.ceil(N / bs)} loss ${(lossSum / nb).toFixed(4)}`);
      }
      // Validation F1 on the first evaluation view after every epoch (its activations are cached: cheap).
      const valF1 = classificationReport(split.val.labels, argmaxRows(predictAll(emb.val[0]!.features), numClasses), split.classes).macroF1;
      log(`  partial ${bb.id} K=${opts.blocks} epoch ${ep + 1}/${epochs} loss ${(lossSum / nb).toFixed(4)} val macro F1 (${viewKey(evalViews[0]!)}) ${valF1.toFixed(4)}`);
    }
  });
  const [pred, predictionS] = await seconds(async () => ({
    val: softVote(emb.val.map((f) => predictAll(f.features))),
    test: emb.test.length ? softVote(emb.test.map((f) => predictAll(f.features))) : undefined,
  }));
  optHead.dispose();
  optBody.dispose();
  if (opts.checkpointDir) await saveWholeNetwork(opts.checkpointDir, model, bb, { numClasses, inputSize: res, classes: split.classes, epochs, blocks: opts.blocks });
  model.dispose();
  const rep = classificationReport(split.val.labels, argmaxRows(pred.val, numClasses), split.classes);
  return {
    name: opts.name ?? `partial K=${opts.blocks} ${opts.backbone} @${res}`,
    valProbs: pred.val,
    testProbs: pred.test,
    valMacroF1: rep.macroF1,
    valAccuracy: rep.accuracy,
    timings: { embeddingS, trainingS, predictionS },
    featuresComputed: computed,
    featuresCached: cached,
  };
}

/** Soft-vote ensemble of several recipe results (same split). */
export function ensemble(results: RecipeResult[], split: TransferSplit, weights?: number[], name = 'ensemble'): RecipeResult {
  const valProbs = softVote(results.map((r) => r.valProbs), weights);
  const tests = results.map((r) => r.testProbs).filter((p): p is Float32Array => !!p);
  const testProbs = tests.length === results.length ? softVote(tests, weights) : undefined;
  const rep = classificationReport(split.val.labels, argmaxRows(valProbs, split.classes.length), split.classes);
  return {
    name,
    valProbs,
    testProbs,
    valMacroF1: rep.macroF1,
    valAccuracy: rep.accuracy,
    timings: { embeddingS: 0, trainingS: 0, predictionS: 0 },
    featuresComputed: 0,
    featuresCached: 0,
  };
}

/** DACON submission rows (id,label) in test.csv order. */

export { buildLayersModel };
