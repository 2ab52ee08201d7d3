import fs from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { getArchitecture } from '../models/index.js';
import { loadWeightsInto, readCheckpoint, type CheckpointMeta } from '../train/checkpoint.js';
import { UserError } from '../util/errors.js';

export interface LoadedRun {
  model: tfl.LayersModel;
  meta: CheckpointMeta;
  checkpoint: string;
}

/** Loads a trained model from a run folder (weights/best.ckpt by default) or a checkpoint file. */
export async function loadRun(runOrCheckpoint: string, which: 'best' | 'last' = 'best'): Promise<LoadedRun> {
  const file = runOrCheckpoint.endsWith('.ckpt') ? runOrCheckpoint : path.join(runOrCheckpoint, 'weights', `${which}.ckpt`);
  if (!fs.existsSync(file)) throw new UserError(`--run: no checkpoint at ${file}`);
  const ckpt = readCheckpoint(file);
  const arch = getArchitecture(ckpt.meta.model);
  const model = await arch.build({ numClasses: ckpt.meta.numClasses, inputSize: ckpt.meta.inputSize });
  loadWeightsInto(model, ckpt, file);
  ckpt.extra.forEach((t) => t.dispose());
  return { model, meta: ckpt.meta, checkpoint: file };
}
