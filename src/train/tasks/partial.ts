import { buildMobileNetV2, mobilenetv2Configs } from '../../models/mobilenetv2.js';
import { UserError } from '../../util/errors.js';
import { backboneBlocks, type CutPoint } from '../../weights/tflite-graph.js';
import type { PartialConfig } from '../config.js';
import type { RunData } from '../data-split.js';
import { cachedFeatures } from './cached-features.js';
import { FeatureTask } from './feature-task.js';
import { checkPretrainedId, headAndBackboneGroups, loadBackbone } from './pretrained.js';

/**
 * The partial recipe: the lower backbone blocks frozen and run once per image and view (activations cached on disk),
 * the `blocks` above them plus a new head fine-tuned on those activations.
 */
export async function partialTask(cfg: PartialConfig, data: RunData, quiet: boolean, log: (m: string) => void): Promise<FeatureTask> {
  const variant = mobilenetv2Configs[checkPretrainedId(cfg.model)];
  const imageSize = cfg.imageSize ?? variant.inputSize;
  if (cfg.evalImageSize !== undefined && cfg.evalImageSize !== imageSize) throw new UserError('evalImageSize: the partial recipe predicts from cached activations at imageSize; leave evalImageSize unset');
  const bb = await loadBackbone(cfg.model, cfg.modelsDir, quiet);
  const blocks = backboneBlocks(bb.graph);
  if (!(cfg.blocks >= 1 && cfg.blocks < blocks.length)) throw new UserError(`blocks: must be in 1..${blocks.length - 1} for ${cfg.model} (got ${cfg.blocks})`);
  const cut: CutPoint = { block: blocks[blocks.length - 1 - cfg.blocks]! };
  const f = await cachedFeatures(bb, data, { cut, imageSize, trainViews: cfg.trainViews, log });
  log(`partial: ${f.computed} activation rows computed in ${f.seconds.toFixed(0)} s (the rest cached); last ${cfg.blocks} blocks trained on ${cut.block} activations ${f.shape.join('x')}`);
  const model = buildMobileNetV2(variant, { numClasses: data.classes.length, inputSize: imageSize, graph: bb.graph, from: cut });
  return new FeatureTask({
    model,
    paramGroups: headAndBackboneGroups(model, ['new_head'], cfg.backboneLrScale),
    numClasses: data.classes.length,
    shape: f.shape,
    train: f.train,
    val: f.val,
    test: f.test,
    labelSmoothing: cfg.labelSmoothing,
    meta: { recipe: 'partial', model: cfg.model, inputSize: imageSize, evalInputSize: imageSize, blocks: cfg.blocks, cut: cut.block },
  });
}
