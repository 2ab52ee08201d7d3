/**
 * MobileNetV2 1.0 initialised from a pretrained uint8 TFLite model, in the manner of a timm model file: a config
 * per pretrained variant and one builder.
 *
 * The weights layer provides the network as a float graph (src/weights: TFLite parsing, dequantization to float32);
 * this file turns it into a trainable classifier: stem .. pooled 1280-d embedding (every pretrained layer
 * trainable), dropout `head_dropout`, new zero-initialised dense head `new_head` (logits). Input: float32 RGB in
 * [0, 1] at any square size (the original graph's input quantization is applied inside the model).
 *
 * Weight names (checkpoints depend on them): each pretrained layer keeps its graph node name (`Conv_Conv2D_Fold`,
 * `expanded_conv_3_expand`, ..., `Conv_1_Conv2D_Fold`), the head is `new_head` (test/models/mobilenetv2.test.ts
 * checks the list against the one earlier runs saved); a model built `from` a cut point holds
 * exactly the whole network's weights above that cut, under the same names, so they copy into the whole by name.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { type CutPoint, cutShape, type FloatGraph } from '../weights/tflite-graph.js';
import { applyGraph } from '../weights/tflite-layers.js';
import { SeededDropout } from './layers/seeded-dropout.js';

export interface MobileNetV2Config {
  /** Pretrained weights id in the weights registry (src/weights/registry.ts), loaded with loadPretrained. */
  weights: string;
  description: string;
  /** Default square input size in pixels. */
  inputSize: number;
  /** Dropout rate before the new head. */
  dropout: number;
  /** The new classifier: a dense layer over the pooled embedding. */
  head: { name: string; kernelInitializer: 'zeros' };
}

const head = { name: 'new_head', kernelInitializer: 'zeros' } as const;

export const mobilenetv2Configs = {
  'mobilenetv2-inat-birds': {
    weights: 'mobilenetv2-inat-birds',
    description: 'MobileNetV2 1.0 pretrained on iNaturalist 2017 birds (from the quantized TFLite model), new head',
    inputSize: 128,
    dropout: 0.2,
    head,
  },
  'mobilenetv2-imagenet': {
    weights: 'mobilenetv2-imagenet',
    description: 'MobileNetV2 1.0 pretrained on ImageNet-1k (from the quantized TFLite model), new head',
    inputSize: 128,
    dropout: 0.2,
    head,
  },
} satisfies Record<string, MobileNetV2Config>;

export interface MobileNetV2BuildOptions {
  numClasses: number;
  /** Square input size of the whole network (default cfg.inputSize); with `from`, the size the cut's shape is taken at. */
  inputSize?: number;
  /** The pretrained network as a float graph (loadPretrained(cfg.weights).graph). */
  graph: FloatGraph;
  /**
   * Build only what lies above this cut point (a block output, or 'embedding' for the head alone): the trainable
   * tail of the partial recipe, whose input is the cached activation at the cut. Default 'image': the whole network.
   */
  from?: CutPoint;
}

/** Builds the MobileNetV2 classifier (or its tail above `from`) from a float graph; output: logits. */
export function buildMobileNetV2(cfg: MobileNetV2Config, opts: MobileNetV2BuildOptions): tfl.LayersModel {
  const size = opts.inputSize ?? cfg.inputSize;
  const from = opts.from ?? 'image';
  if (from === 'logits' || from === 'probs') throw new Error(`mobilenetv2: cannot build from '${from}' (cut points: 'image', a block, 'embedding')`);
  const whole = from === 'image';
  const shape = whole ? [size, size, 3] : cutShape(opts.graph, from, size);
  const input = tfl.input({ shape, name: whole ? 'image' : 'features' });
  let y = applyGraph(opts.graph, input, { from, to: 'embedding', trainable: true });
  // Seeded: a resumed run draws the masks the uninterrupted run would have drawn.
  y = new SeededDropout({ rate: cfg.dropout, name: 'head_dropout' }).apply(y) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: opts.numClasses, name: cfg.head.name, kernelInitializer: cfg.head.kernelInitializer }).apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: logits, name: whole ? 'mobilenetv2_finetune' : 'mobilenetv2_tail' });
}
