import { buildMobileNetV2, mobilenetv2Configs } from '../../models/mobilenetv2.js';
import type { FullConfig } from '../config.js';
import type { RunData } from '../data-split.js';
import { decodeEvalSets, decodeSet } from './decode-sets.js';
import { ImageTask } from './image-task.js';
import { loadBackbone, headAndBackboneGroups, checkPretrainedId } from './pretrained.js';
import { loadImagesWithProgress } from '../../data/load-with-progress.js';

/**
 * The full recipe: every layer of a pretrained MobileNetV2 plus a new head, fine-tuned end to end on decoded images.
 * Views come from the 64px image or (upscaleProb) its 256px copy, both decoded at the input size (Lanczos-3).
 */
export async function fullTask(cfg: FullConfig, data: RunData, quiet: boolean): Promise<ImageTask> {
  const variant = mobilenetv2Configs[checkPretrainedId(cfg.model)];
  const imageSize = cfg.imageSize ?? variant.inputSize;
  const evalImageSize = cfg.evalImageSize ?? imageSize;
  const bb = await loadBackbone(cfg.model, cfg.modelsDir, quiet);
  const numClasses = data.classes.length;
  const needUpscale = cfg.augment.upscaleProb > 0 || cfg.upscaleTeacher > 0;
  const train = await decodeSet(data.train, imageSize, 'decode train', quiet, needUpscale ? imageSize : undefined);
  const evalSets = await decodeEvalSets(data, evalImageSize, quiet);
  const build = (size: number) => buildMobileNetV2(variant, { numClasses, inputSize: size, graph: bb.graph });
  const model = build(imageSize);
  let trainTest: Uint8Array[] | undefined;
  return new ImageTask({
    model,
    paramGroups: headAndBackboneGroups(model, ['new_head'], cfg.backboneLrScale),
    numClasses,
    imageSize,
    evalImageSize,
    train,
    ...evalSets,
    buildAt: async (size) => build(size),
    augment: cfg.augment,
    labelSmoothing: cfg.labelSmoothing,
    upscaleTeacher: cfg.upscaleTeacher > 0 ? { weight: cfg.upscaleTeacher, temperature: cfg.upscaleTeacherTemp } : undefined,
    pseudoLabel:
      cfg.pseudoLabel > 0
        ? {
            afterEpoch: cfg.pseudoAfter ?? Math.ceil(cfg.epochs / 2),
            threshold: cfg.pseudoLabel,
            trainTest: async () => {
              if (evalImageSize === imageSize && evalSets.test) return evalSets.test.pixels;
              trainTest ??= await loadImagesWithProgress(data.test!.samples.map((s) => s.path), imageSize, 'decode test (training size)', quiet);
              return trainTest;
            },
          }
        : undefined,
    meta: { recipe: 'full', model: cfg.model, inputSize: imageSize, evalInputSize: evalImageSize },
  });
}
