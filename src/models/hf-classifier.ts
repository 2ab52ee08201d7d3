/**
 * One call from a Hugging Face model folder (config.json + model.safetensors) to a plumage LayersModel, for the CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beitConfigFromHf, buildBeit } from './beit.js';
import { buildSwinv2, swinv2ConfigFromHf } from './swinv2.js';
import type { VitBuildOptions } from './vit-layers/head.js';
import { loadHfSafetensors, type LoadHfReport } from '../weights/safetensors-hf.js';

export interface LoadedHfModel {
  model: tfl.LayersModel;
  modelType: 'swinv2' | 'beit';
  /** The raw config.json object. */
  config: Record<string, unknown>;
  report: LoadHfReport;
}

/**
 * Builds the model that `<dir>/config.json` describes (model_type swinv2 or beit) and loads `<dir>/model.safetensors`
 * by name. With `numClasses` different from the checkpoint's num_labels the classifier is left freshly initialised
 * (fine-tuning); everything else must load. `normalize` defaults to the HF processor's: ImageNet mean/std for SwinV2,
 * 0.5/0.5 for BEiT.
 */
export async function loadHfClassifier(dir: string, opts: VitBuildOptions = {}): Promise<LoadedHfModel> {
  const configPath = path.join(dir, 'config.json');
  if (!fs.existsSync(configPath)) throw new Error(`${dir}: no config.json`);
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  const modelType = config['model_type'];
  let model: tfl.LayersModel;
  let numLabels: number;
  if (modelType === 'swinv2') {
    const c = swinv2ConfigFromHf(config);
    numLabels = c.num_labels;
    model = buildSwinv2(c, { normalize: 'imagenet', ...opts });
  } else if (modelType === 'beit') {
    const c = beitConfigFromHf(config);
    numLabels = c.num_labels;
    model = buildBeit(c, { normalize: 'half', ...opts });
  } else {
    throw new Error(`${configPath}: model_type ${JSON.stringify(modelType)} is not supported (swinv2, beit)`);
  }
  const newHead = opts.numClasses !== undefined && opts.numClasses !== numLabels;
  const report = await loadHfSafetensors(model, path.join(dir, 'model.safetensors'), newHead ? { skip: (k) => k.startsWith('classifier.'), strict: false } : {});
  return { model, modelType, config, report };
}
