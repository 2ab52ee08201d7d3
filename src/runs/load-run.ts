import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { getArchitecture } from '../models/index.js';
import { buildMobileNetV2, mobilenetv2Configs } from '../models/mobilenetv2.js';
import { applyProbeHead } from '../models/probe-head.js';
import { UserError } from '../util/errors.js';
import { type CacheOptions, loadPretrained } from '../weights/index.js';
import { applyGraph } from '../weights/tflite-layers.js';
import { type Checkpoint, type CheckpointMeta, checkpointPaths, loadWeightsInto, readCheckpoint } from './checkpoint.js';

export interface LoadedRun {
  /** The whole network, image in (float32 [0, 1] RGB at meta.inputSize), logits out. */
  model: tfl.LayersModel;
  meta: CheckpointMeta & { recipe: string };
  checkpoint: string;
}

/** Checkpoints of earlier plumage versions named fine-tunes `transfer-full:<backbone>`. */
const OLD_FULL_PREFIX = 'transfer-full:';

function recipeOf(meta: CheckpointMeta): { recipe: string; model: string } {
  if (typeof meta.recipe === 'string' && ['scratch', 'full', 'partial', 'probe'].includes(meta.recipe)) return { recipe: meta.recipe, model: meta.model };
  if (meta.model.startsWith(OLD_FULL_PREFIX)) return { recipe: 'full', model: meta.model.slice(OLD_FULL_PREFIX.length) };
  return { recipe: 'scratch', model: meta.model };
}

/** Copies the checkpoint's weights into `whole` by name (partial runs hold only the trained upper part). */
function copyByName(whole: tfl.LayersModel, ckpt: Checkpoint, file: string): void {
  const byName = new Map(whole.weights.map((w) => [w.originalName, w]));
  for (const { name, tensor } of ckpt.weights) {
    const w = byName.get(name);
    if (!w || w.shape.join('x') !== tensor.shape.join('x')) throw new UserError(`${file}: weight ${name} ${tensor.shape.join('x')} has no counterpart in the rebuilt network`);
    w.write(tensor);
    tensor.dispose();
  }
}

/** The probe's standardization folded into its first dense layer: W' = W / std, b' = b - (mean / std) W. */
function foldStandardization(whole: tfl.LayersModel, meta: CheckpointMeta): void {
  const layer = whole.getLayer(meta.head === 'mlp' ? 'probe_hidden' : 'new_head');
  const [kernel, bias] = layer.getWeights();
  const folded = tf.tidy(() => {
    const mean = tf.tensor1d(meta.featureMean as number[]);
    const std = tf.tensor1d(meta.featureStd as number[]);
    const k = tf.div(kernel!, tf.reshape(std, [-1, 1]));
    const b = tf.sub(bias!, tf.reshape(tf.matMul(tf.reshape(tf.div(mean, std), [1, -1]), kernel! as tf.Tensor2D), [-1]));
    return [k, b];
  });
  layer.setWeights(folded);
  tf.dispose(folded);
}

/** Rebuilds the whole network of any run's checkpoint (every recipe), ready for prediction. */
export async function loadCheckpointModel(file: string, weights?: CacheOptions): Promise<LoadedRun> {
  const ckpt = readCheckpoint(file);
  ckpt.extra.forEach((t) => t.dispose());
  const { recipe, model: id } = recipeOf(ckpt.meta);
  const size = typeof ckpt.meta.evalInputSize === 'number' && ckpt.meta.evalInputSize > 0 ? ckpt.meta.evalInputSize : ckpt.meta.inputSize;
  const numClasses = ckpt.meta.numClasses;
  const meta = { ...ckpt.meta, model: id, recipe, inputSize: size };
  if (recipe === 'scratch') {
    const model = await getArchitecture(id).build({ numClasses, inputSize: size, pretrained: false });
    loadWeightsInto(model, ckpt, file);
    return { model, meta, checkpoint: file };
  }
  if (!(id in mobilenetv2Configs)) throw new UserError(`${file}: unknown pretrained backbone '${id}'`);
  const bb = await loadPretrained(id, weights);
  let model: tfl.LayersModel;
  if (recipe === 'probe') {
    const input = tfl.input({ shape: [size, size, 3], name: 'image' });
    const emb = applyGraph(bb.graph, input, { from: 'image', to: 'embedding', trainable: false });
    const head = applyProbeHead(emb, { kind: ckpt.meta.head === 'mlp' ? 'mlp' : 'linear', dim: emb.shape[1] as number, hidden: Number(ckpt.meta.hidden ?? 512), numClasses });
    model = tfl.model({ inputs: input, outputs: head, name: 'probe' });
  } else {
    model = buildMobileNetV2(mobilenetv2Configs[id as keyof typeof mobilenetv2Configs], { numClasses, inputSize: size, graph: bb.graph });
  }
  if (recipe === 'full') loadWeightsInto(model, ckpt, file);
  else copyByName(model, ckpt, file);
  if (recipe === 'probe') foldStandardization(model, ckpt.meta);
  return { model, meta, checkpoint: file };
}

/** Loads a trained model from a run folder (weights/best.ckpt by default, else last) or a checkpoint file. */
export async function loadRun(runOrCheckpoint: string, which: 'best' | 'last' = 'best', weights?: CacheOptions): Promise<LoadedRun> {
  if (runOrCheckpoint.endsWith('.ckpt')) return loadCheckpointModel(runOrCheckpoint, weights);
  const paths = checkpointPaths(runOrCheckpoint);
  let file = paths[which];
  if (!fs.existsSync(file) && fs.existsSync(paths.last)) file = paths.last;
  if (!fs.existsSync(file)) throw new UserError(`--run: no checkpoint in ${path.join(runOrCheckpoint, 'weights')} (is ${runOrCheckpoint} a plumage run folder?)`);
  return loadCheckpointModel(file, weights);
}
