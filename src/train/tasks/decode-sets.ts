import type { Dataset } from '../../data/dataset.js';
import { labelsOf } from '../../data/dataset.js';
import { loadImagesWithProgress } from '../../data/load-with-progress.js';
import { UserError } from '../../util/errors.js';
import type { RunData } from '../data-split.js';
import type { ImageSet } from './image-task.js';

/** Decodes a labelled set at `size` (and its 256px copies at `upscaleSize` when given). */
export async function decodeSet(ds: Dataset, size: number, label: string, quiet: boolean, upscaleSize?: number): Promise<ImageSet> {
  const set: ImageSet = { pixels: await loadImagesWithProgress(ds.samples.map((s) => s.path), size, label, quiet), size, labels: labelsOf(ds) };
  if (upscaleSize) {
    const missing = ds.samples.find((s) => !s.upscalePath);
    if (missing) throw new UserError(`${ds.source}: image ${missing.id} has no upscale_img_path (the 256px copy that upscaleProb / upscaleTeacher / upscale views need)`);
    set.upscale = await loadImagesWithProgress(ds.samples.map((s) => s.upscalePath!), upscaleSize, `${label} (256px copies)`, quiet);
    set.upscaleSize = upscaleSize;
  }
  return set;
}

/** Validation set and (when present) test images, decoded at the prediction source size. */
export async function decodeEvalSets(data: RunData, size: number, quiet: boolean): Promise<{ val: ImageSet; test?: { pixels: Uint8Array[]; size: number } }> {
  const val = await decodeSet(data.val, size, 'decode val', quiet);
  const test = data.test ? { pixels: await loadImagesWithProgress(data.test.samples.map((s) => s.path), size, 'decode test', quiet), size } : undefined;
  return { val, test };
}
