import type * as tfl from '@tensorflow/tfjs-layers';
import { mobilenetv2Configs } from '../../models/mobilenetv2.js';
import { UserError } from '../../util/errors.js';
import { type CacheOptions, loadPretrained, type PretrainedBackbone } from '../../weights/index.js';

/** The pretrained backbones the fine-tuning recipes accept. */
export function checkPretrainedId(id: string, option = 'model'): keyof typeof mobilenetv2Configs {
  if (!(id in mobilenetv2Configs)) throw new UserError(`${option}: '${id}' is not a pretrained backbone (known: ${Object.keys(mobilenetv2Configs).join(', ')})`);
  return id as keyof typeof mobilenetv2Configs;
}

export async function loadBackbone(id: string, modelsDir: string | undefined, quiet: boolean): Promise<PretrainedBackbone> {
  checkPretrainedId(id);
  const opts: CacheOptions = { modelsDir, log: quiet ? () => {} : (m) => console.error(m) };
  return loadPretrained(id, opts);
}

/** New head at the full lr with weight decay; pretrained layers at `backboneLrScale` x lr, never decayed. */
export function headAndBackboneGroups(model: tfl.LayersModel, headLayers: string[], backboneLrScale: number): { lrMultiplier: number; decay: boolean }[] {
  const head = new Set(headLayers.flatMap((n) => model.getLayer(n).trainableWeights.map((w) => w.name)));
  return model.trainableWeights.map((w) => (head.has(w.name) ? { lrMultiplier: 1, decay: true } : { lrMultiplier: backboneLrScale, decay: false }));
}
