import fs from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { getArchitecture } from '../models/index.js';
import { loadWeightsInto, readCheckpoint, type CheckpointMeta } from '../train/checkpoint.js';
import { buildFineTuneModel, TRANSFER_FULL_PREFIX } from '../transfer/full.js';
import { UserError } from '../util/errors.js';
import { type CacheOptions, loadPretrained } from '../weights/index.js';

export interface LoadedRun {
  model: tfl.LayersModel;
  meta: CheckpointMeta;
  checkpoint: string;
}

/** Loads a trained model from a run folder (weights/best.ckpt by default) or a checkpoint file. */
export async function loadRun(runOrCheckpoint: string, which: 'best' | 'last' = 'best', weights?: CacheOptions): Promise<LoadedRun> {
  let file = runOrCheckpoint.endsWith('.ckpt') ? runOrCheckpoint : path.join(runOrCheckpoint, 'weights', `${which}.ckpt`);
  // Fine-tuned pretrained backbones (--recipe full) keep one resumable checkpoint, last.ckpt.
  const last = path.join(runOrCheckpoint, 'weights', 'last.ckpt');
  if (!fs.existsSync(file) && !runOrCheckpoint.endsWith('.ckpt') && fs.existsSync(last)) file = last;
  if (!fs.existsSync(file)) throw new UserError(`--run: no checkpoint at ${file}`);
  const ckpt = readCheckpoint(file);
  if (ckpt.meta.model.startsWith(TRANSFER_FULL_PREFIX)) {
    // Rebuilt from the pretrained graph (layer structure), then the fine-tuned weights; predicts at its eval size.
    const bb = await loadPretrained(ckpt.meta.model.slice(TRANSFER_FULL_PREFIX.length), weights);
    const size = typeof ckpt.meta.evalInputSize === 'number' ? ckpt.meta.evalInputSize : ckpt.meta.inputSize;
    const model = buildFineTuneModel(bb.graph, ckpt.meta.numClasses, size);
    loadWeightsInto(model, ckpt, file);
    ckpt.extra.forEach((t) => t.dispose());
    return { model, meta: { ...ckpt.meta, inputSize: size }, checkpoint: file };
  }
  const arch = getArchitecture(ckpt.meta.model);
  const model = await arch.build({ numClasses: ckpt.meta.numClasses, inputSize: ckpt.meta.inputSize });
  loadWeightsInto(model, ckpt, file);
  ckpt.extra.forEach((t) => t.dispose());
  return { model, meta: ckpt.meta, checkpoint: file };
}
