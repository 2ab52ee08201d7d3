import type * as tfl from '@tensorflow/tfjs-layers';
import { buildFineTuneModel } from '../transfer/full.js';
import { type CacheOptions, loadPretrained } from '../weights/index.js';

/**
 * MobileNetV2 1.0 initialised from a pretrained uint8 TFLite model (dequantized to float32, fully trainable), with
 * a new zero-initialised dense head over the pooled 1280-d embedding. Input: float32 RGB in [0, 1] at any square
 * size (the original graph's input quantization is applied inside the model). The weights are pulled into the
 * plumage cache on first use (or found in ../shared/models).
 */
export async function buildPretrainedMobileNetV2(
  backbone: 'mobilenetv2-inat-birds' | 'mobilenetv2-imagenet',
  opts: { numClasses: number; inputSize?: number; weights?: CacheOptions },
): Promise<tfl.LayersModel> {
  const bb = await loadPretrained(backbone, opts.weights);
  return buildFineTuneModel(bb.graph, opts.numClasses, opts.inputSize ?? 128);
}

export const mobilenetv2Configs = {
  'mobilenetv2-inat-birds': { description: 'MobileNetV2 1.0 pretrained on iNaturalist 2017 birds (from the quantized TFLite model), new head', inputSize: 128 },
  'mobilenetv2-imagenet': { description: 'MobileNetV2 1.0 pretrained on ImageNet-1k (from the quantized TFLite model), new head', inputSize: 128 },
} as const;
