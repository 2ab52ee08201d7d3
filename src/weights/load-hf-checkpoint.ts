/**
 * Loads any HF SwinV2/BEiT checkpoint layout into a plumage model built from its config:
 * - image-classification checkpoints (`swinv2.*` / `beit.*` + `classifier.*`): everything by name; the classifier
 *   is kept only when the class count matches, otherwise it is left freshly initialised (fine-tuning);
 * - bare backbones (Swinv2Model / BeitModel, keys without the `swinv2.` / `beit.` prefix) and pre-training
 *   checkpoints (BeitForMaskedImageModeling: no pooler, an `lm_head`): the backbone by name, the missing head parts
 *   (classifier, BEiT's pooler norm) freshly initialised, the pre-training head ignored;
 * - buffers older checkpoints saved (relative_position_index, relative_coords_table) are ignored: plumage derives them.
 * Every backbone weight must be in the checkpoint with the right shape, or the load fails naming it.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { DERIVED_BUFFER, loadHfSafetensors, type LoadHfReport } from './safetensors-hf.js';
import type { TensorSource } from './tensor-source.js';

/** Head weights that may be absent from a backbone checkpoint (they are trained from scratch then). */
const HEAD_KEY = (k: string) => k.startsWith('classifier.') || k.startsWith('beit.pooler.');

/** Presents a bare-backbone checkpoint (keys without `<prefix>.`) under the prefixed names. */
export function withPrefix(src: TensorSource, prefix: string): TensorSource {
  const p = `${prefix}.`;
  const strip = (k: string) => (k.startsWith(p) ? k.slice(p.length) : `\0${k}`);
  return { ...src, keys: () => src.keys().map((k) => `${p}${k}`), shapeOf: (k) => src.shapeOf(strip(k)), read: (k) => src.read(strip(k)) };
}

export interface HfCheckpointLoad extends LoadHfReport {
  /** True when the checkpoint's classifier was loaded (same class count), false when it is new. */
  keptClassifier: boolean;
}

export async function loadHfCheckpoint(model: tfl.LayersModel, source: TensorSource, modelType: 'swinv2' | 'beit', numClasses: number): Promise<HfCheckpointLoad> {
  const bare = !source.keys().some((k) => k.startsWith(`${modelType}.`));
  const src = bare ? withPrefix(source, modelType) : source;
  const classifierShape = src.shapeOf('classifier.weight');
  const keptClassifier = classifierShape !== undefined && classifierShape[0] === numClasses;
  const skip = (k: string) => (k.startsWith('classifier.') ? !keptClassifier : HEAD_KEY(k) && src.shapeOf(k) === undefined);
  const report = await loadHfSafetensors(model, src, { skip, strict: false, ignore: DERIVED_BUFFER });
  return { ...report, keptClassifier };
}
