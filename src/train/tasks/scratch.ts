import { getArchitecture } from '../../models/index.js';
import { layerDecayMultipliers } from '../../models/vit-layers/lr-decay.js';
import type { ScratchConfig } from '../config.js';
import type { RunData } from '../data-split.js';
import { decodeEvalSets, decodeSet } from './decode-sets.js';
import { ImageTask } from './image-task.js';

/**
 * The scratch recipe: an architecture from the registry, randomly initialised, trained on decoded 64px images (and
 * optionally views of the 256px copies, decoded at twice the input size so crops keep their detail).
 */
export async function scratchTask(cfg: ScratchConfig, data: RunData, quiet: boolean): Promise<ImageTask> {
  const arch = getArchitecture(cfg.model);
  const imageSize = cfg.imageSize ?? arch.inputSize;
  const evalImageSize = cfg.evalImageSize ?? imageSize;
  const numClasses = data.classes.length;
  const srcSize = Math.max(64, imageSize);
  // The 256px copies are decoded at twice the input size (crops keep their detail), but never above their own 256px.
  const upscaleSize = Math.min(imageSize * 2, Math.max(imageSize, 256));
  const train = await decodeSet(data.train, srcSize, 'decode train', quiet, cfg.augment.upscaleProb > 0 ? upscaleSize : undefined);
  const evalSets = await decodeEvalSets(data, Math.max(64, evalImageSize), quiet);
  const model = await arch.build({ numClasses, inputSize: imageSize, seed: cfg.seed, dropPathRate: cfg.dropPathRate });
  // Hub models record the exact revision they were built from, so a run rebuilds what it trained.
  const modelId = (arch as { pinnedName?: string }).pinnedName ?? cfg.model;
  const multipliers = cfg.layerDecay < 1 ? layerDecayMultipliers(model, cfg.layerDecay) : model.trainableWeights.map(() => 1);
  return new ImageTask({
    model,
    paramGroups: multipliers.map((m) => ({ lrMultiplier: m, decay: true })),
    numClasses,
    imageSize,
    evalImageSize,
    train,
    ...evalSets,
    buildAt: async (size) => arch.build({ numClasses, inputSize: size, seed: cfg.seed, pretrained: false }),
    augment: cfg.augment,
    labelSmoothing: cfg.labelSmoothing,
    meta: { recipe: 'scratch', model: modelId, inputSize: imageSize, evalInputSize: evalImageSize },
  });
}
