/**
 * Builds the plumage model a Hugging Face config.json describes: model_type `swinv2` or `beit` (image-classification
 * checkpoints and bare backbones alike: the architecture is the same, only the weights differ). Any other model_type
 * is refused by name. Pixel normalisation defaults to the HF image processor's: ImageNet mean/std for SwinV2,
 * 0.5/0.5 for BEiT (or the `image_mean`/`image_std` of a preprocessor_config.json, when the caller passes them).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../util/errors.js';
import { beitConfigFromHf, buildBeit } from './beit.js';
import { buildSwinv2, swinv2ConfigFromHf } from './swinv2.js';
import type { VitBuildOptions } from './vit-layers/head.js';

export const SUPPORTED_MODEL_TYPES = ['swinv2', 'beit'] as const;
export type HfModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

export interface HfConfigFacts {
  modelType: HfModelType;
  imageSize: number;
  numLabels: number;
  patchSize: number;
  dropPathRate: number;
  /** Number of transformer blocks (for layer-wise lr decay). */
  depth: number;
}

/** Checks model_type and reads the facts the CLI needs; `source` names the config in errors. */
export function hfConfigFacts(config: Record<string, unknown>, source: string): HfConfigFacts {
  const t = config['model_type'];
  if (t === 'swinv2') {
    const c = swinv2ConfigFromHf(config);
    return { modelType: t, imageSize: c.image_size, numLabels: c.num_labels, patchSize: c.patch_size, dropPathRate: c.drop_path_rate, depth: c.depths.reduce((a, b) => a + b, 0) };
  }
  if (t === 'beit') {
    const c = beitConfigFromHf(config);
    return { modelType: t, imageSize: c.image_size, numLabels: c.num_labels, patchSize: c.patch_size, dropPathRate: c.drop_path_rate, depth: c.num_hidden_layers };
  }
  throw new UserError(`${source}: model_type ${JSON.stringify(t)} is not supported: plumage builds ${SUPPORTED_MODEL_TYPES.join(' and ')} checkpoints`);
}

export function buildFromHfConfig(config: Record<string, unknown>, source: string, opts: VitBuildOptions = {}): { model: tfl.LayersModel; facts: HfConfigFacts } {
  const facts = hfConfigFacts(config, source);
  const model = facts.modelType === 'swinv2'
    ? buildSwinv2(swinv2ConfigFromHf(config), { normalize: 'imagenet', ...opts })
    : buildBeit(beitConfigFromHf(config), { normalize: 'half', ...opts });
  return { model, facts };
}
